//! The URL guard (CONTRACT §9): user-given URLs must be `http`/`https` and
//! must not reach loopback, private (RFC 1918), link-local, unique-local,
//! CGNAT, multicast, unspecified or cloud-metadata addresses, unless the
//! operator allows the host or address in `FAOS_OUTBOUND_ALLOW`.
//!
//! This module answers the save-time question ("is this literal URL
//! acceptable?") and the address question ("may we connect to this IP?")
//! that the outbound HTTP client asks of every address it connects to.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use url::{Host, Url};

/// The operator's allow list and the checks built on it.
#[derive(Debug, Clone, Default)]
pub struct UrlGuard {
    allowed_hosts: Vec<String>,
    allowed_nets: Vec<IpNet>,
}

impl UrlGuard {
    /// Parses a comma-separated list of host names, IP addresses and CIDRs
    /// (`127.0.0.1,10.0.0.0/8,internal.example`).
    ///
    /// Errors: an entry that contains `/` but is not a CIDR.
    pub fn from_allow_list(list: &str) -> Result<UrlGuard, String> {
        let mut guard = UrlGuard::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<IpNet>() {
                guard.allowed_nets.push(net);
            } else if let Ok(ip) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
                guard.allowed_nets.push(IpNet::from(ip));
            } else if entry.contains('/') {
                return Err(format!(
                    "'{entry}' in the outbound allow list is not a valid CIDR"
                ));
            } else {
                guard.allowed_hosts.push(entry.to_ascii_lowercase());
            }
        }
        Ok(guard)
    }

    /// May the server connect to `ip`? True for public addresses and for
    /// refused ranges the operator allowed.
    pub fn may_connect(&self, ip: IpAddr) -> bool {
        !is_refused(ip) || self.allowed_nets.iter().any(|net| net.contains(&ip))
    }

    /// Did the operator allow this host name by name?
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allowed_hosts.contains(&host)
    }

    /// Checks a literal URL: scheme, host, and — for an IP literal or a
    /// `localhost` name — the address rule. Host names are checked again on
    /// the address actually connected to, when the call is made.
    ///
    /// Errors: a one-line reason, for a `400 invalid_request`.
    pub fn check_url(&self, raw: &str) -> Result<Url, String> {
        let url = Url::parse(raw).map_err(|err| format!("'{raw}' is not a valid URL: {err}"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(format!(
                "URLs must use http or https, not '{}'",
                url.scheme()
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("URLs must not carry credentials".to_string());
        }
        let refused = || {
            format!("'{raw}' points to a private or reserved address, which the URL guard refuses")
        };
        match url.host() {
            None => return Err(format!("'{raw}' has no host")),
            Some(Host::Ipv4(ip)) if !self.may_connect(IpAddr::V4(ip)) => return Err(refused()),
            Some(Host::Ipv6(ip)) if !self.may_connect(IpAddr::V6(ip)) => return Err(refused()),
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let local = name == "localhost" || name.ends_with(".localhost");
                if local && !self.allows_host(&name) {
                    return Err(refused());
                }
            }
            Some(_) => {}
        }
        Ok(url)
    }

    /// Checks a URL template whose path and query may hold `{placeholders}`;
    /// the scheme and host must be literal.
    pub fn check_template(&self, template: &str) -> Result<Url, String> {
        let authority_end = template
            .find("://")
            .map(|start| {
                template[start + 3..]
                    .find(['/', '?', '#'])
                    .map_or(template.len(), |end| start + 3 + end)
            })
            .unwrap_or(template.len());
        if template[..authority_end].contains(['{', '}']) {
            return Err("the scheme and host of a URL template must be literal".to_string());
        }
        let filled: String = fill_placeholders(template);
        self.check_url(&filled)
    }
}

/// Replaces each `{name}` with `x`, for checking a template's shape.
fn fill_placeholders(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut inside = false;
    for c in template.chars() {
        match (c, inside) {
            ('{', false) => inside = true,
            ('}', true) => {
                inside = false;
                out.push('x');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

/// Is `ip` in a range the guard refuses by default? IPv6 forms that embed
/// an IPv4 address (mapped, compatible, translated, NAT64, 6to4) are judged
/// by that address; Teredo and site-local are refused outright.
pub fn is_refused(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local() // includes 169.254.169.254, the cloud metadata address
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || a == 0 // "this network"
                || (a == 100 && (64..128).contains(&b)) // CGNAT, RFC 6598
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 192 && b == 0 && c == 2) // documentation, RFC 5737
                || (a == 198 && b == 51 && c == 100) // documentation
                || (a == 203 && b == 0 && c == 113) // documentation
                || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
                || (a == 198 && (18..20).contains(&b)) // benchmarking, RFC 2544
                || a >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let embedded = |high: u16, low: u16| Ipv4Addr::from(((high as u32) << 16) | low as u32);
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_refused(IpAddr::V4(v4));
            }
            if s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                return is_refused(IpAddr::V4(embedded(s[6], s[7]))); // IPv4-compatible ::a.b.c.d
            }
            if s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
                return is_refused(IpAddr::V4(embedded(s[6], s[7]))); // IPv4-translated ::ffff:0:a.b.c.d
            }
            if s[0] == 0x0064 && s[1] == 0xff9b {
                return is_refused(IpAddr::V4(embedded(s[6], s[7]))); // NAT64 64:ff9b::/96
            }
            if s[0] == 0x2002 {
                return is_refused(IpAddr::V4(embedded(s[1], s[2]))); // 6to4 2002::/16
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (incl. fd00:ec2::254)
                || (s[0] & 0xffc0) == 0xfe80 // link local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site local fec0::/10 (deprecated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_reserved_literals_and_allows_public_ones() {
        let guard = UrlGuard::default();
        for url in [
            "http://127.0.0.1/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::127.0.0.1]/",
            "http://[::ffff:0:127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
            "http://[2002:a9fe:a9fe::]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[fec0::1]/",
            "http://198.18.0.1/",
            "http://192.0.2.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://localhost:8080/",
            "http://api.localhost/",
            "ftp://example.com/",
            "file:///etc/passwd",
            "http://user:pw@example.com/",
        ] {
            assert!(guard.check_url(url).is_err(), "{url} should be refused");
        }
        for url in [
            "https://example.com/a",
            "http://93.184.216.34/",
            "https://[2606:4700::1111]/",
        ] {
            assert!(guard.check_url(url).is_ok(), "{url} should pass");
        }
    }

    #[test]
    fn allow_list_admits_named_hosts_and_networks() {
        let guard = UrlGuard::from_allow_list("127.0.0.1, 10.0.0.0/8, localhost").unwrap();
        assert!(guard.check_url("http://127.0.0.1:9000/").is_ok());
        assert!(guard.check_url("http://10.2.3.4/").is_ok());
        assert!(guard.check_url("http://localhost/").is_ok());
        assert!(guard.check_url("http://192.168.0.1/").is_err());
        assert!(UrlGuard::from_allow_list("10.0.0.0/99").is_err());
    }

    #[test]
    fn templates_need_a_literal_host() {
        let guard = UrlGuard::default();
        assert!(
            guard
                .check_template("https://api.example.com/orders/{order_id}?q={q}")
                .is_ok()
        );
        assert!(guard.check_template("https://{host}/orders").is_err());
        assert!(guard.check_template("http://127.0.0.1/{x}").is_err());
    }
}
