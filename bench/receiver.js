// A fast local webhook receiver for bench/webhooks.sh: answers 204 to every
// POST and appends "<event created_at ms> <received ms>" to the log file.
// Usage: node bench/receiver.js PORT LOGFILE
const http = require("http");
const fs = require("fs");
const [port, logFile] = process.argv.slice(2);
const log = fs.createWriteStream(logFile, { flags: "a" });
http
  .createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const received = Date.now();
      try {
        const event = JSON.parse(Buffer.concat(chunks).toString());
        log.write(`${Date.parse(event.created_at)} ${received}\n`);
      } catch (e) {
        log.write(`0 ${received}\n`);
      }
      res.writeHead(204);
      res.end();
    });
  })
  .listen(Number(port), "127.0.0.1");
