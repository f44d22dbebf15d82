//! What this process knows about answers running in it: a first-come,
//! first-served gate per conversation (so `on_busy: enqueue` answers in
//! arrival order), the cancellation token of each running answer, and a
//! progress signal streams wait on instead of polling. The database holds
//! the authoritative lock (see `store::AnswerStore`); this only makes the
//! local case prompt and fair.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

type Gate = tokio::sync::Mutex<()>;

struct Running {
    cancel: CancellationToken,
    progress: watch::Receiver<i64>,
}

/// The registry, shared by the API and the answer tasks.
#[derive(Default)]
pub struct Live {
    gates: Mutex<HashMap<(String, String), Weak<Gate>>>,
    running: Mutex<HashMap<String, Running>>,
}

/// What an answer task keeps while it runs; dropping it unregisters.
pub struct Registration {
    live: Arc<Live>,
    id: String,
    pub cancel: CancellationToken,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.live
            .running
            .lock()
            .expect("live registry")
            .remove(&self.id);
    }
}

impl Live {
    /// The gate of one conversation (created on first use, freed when no
    /// one holds it).
    pub fn gate(&self, agent_id: &str, conversation_id: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock().expect("live registry");
        gates.retain(|_, gate| gate.strong_count() > 0);
        let key = (agent_id.to_string(), conversation_id.to_string());
        if let Some(gate) = gates.get(&key).and_then(Weak::upgrade) {
            return gate;
        }
        let gate = Arc::new(Gate::default());
        gates.insert(key, Arc::downgrade(&gate));
        gate
    }

    /// Registers a running answer; the sender signals its progress (the
    /// last stored event number).
    pub fn register(self: &Arc<Self>, id: &str) -> (Registration, watch::Sender<i64>) {
        let cancel = CancellationToken::new();
        let (progress, receiver) = watch::channel(0);
        self.running.lock().expect("live registry").insert(
            id.to_string(),
            Running {
                cancel: cancel.clone(),
                progress: receiver,
            },
        );
        let registration = Registration {
            live: self.clone(),
            id: id.to_string(),
            cancel,
        };
        (registration, progress)
    }

    /// Cancels an answer running here; `false` if it is not.
    pub fn cancel(&self, id: &str) -> bool {
        match self.running.lock().expect("live registry").get(id) {
            Some(running) => {
                running.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// A receiver of an answer's last stored event number, while it runs
    /// here.
    pub fn progress(&self, id: &str) -> Option<watch::Receiver<i64>> {
        self.running
            .lock()
            .expect("live registry")
            .get(id)
            .map(|r| r.progress.clone())
    }
}
