//! Outbound HTTP to places users choose: a calendar watchlist's `ics_url`,
//! and wherever the price feed's redirects lead. Such a fetch must not
//! reach the service's own network (a cloud metadata endpoint at
//! 169.254.169.254, Redis on 127.0.0.1, an admin page on 10.x), so only
//! public addresses are fetched unless `OUTBOUND_ALLOW_PRIVATE` lists the
//! range or the host.
//!
//! Each address is checked where the connection is made, so a name cannot
//! pass a check and then connect elsewhere:
//! - a literal address in a URL, before the fetch (reqwest connects to a
//!   literal without resolving it), and at the door for `ics_url` (422);
//! - every address a name resolves to, in the client's resolver: the
//!   connector connects only to the addresses it hands back;
//! - each redirect hop: a literal by the redirect policy, a name by the
//!   resolver when the hop connects.
//!
//! The client ignores `HTTP(S)_PROXY`: a proxy resolves names itself, out
//! of the resolver's sight.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

/// The variable that lists what may be fetched although it is not public.
pub const ALLOW_VARIABLE: &str = "OUTBOUND_ALLOW_PRIVATE";

/// reqwest's own default.
const MAX_REDIRECTS: usize = 10;

/// What outbound fetches may reach besides public addresses. Cheap to
/// clone; the default allows nothing more.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allowed: Arc<Allowed>,
}

#[derive(Debug, Default)]
struct Allowed {
    nets: Vec<Net>,
    /// Lower-case, without a trailing dot.
    hosts: Vec<String>,
}

/// An address range, `10.0.0.0/8` or `fd00::/8`; a single address is a
/// range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn parse(entry: &str) -> Option<Result<Net, String>> {
        let (addr, prefix) = match entry.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (entry, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let addr = addr.to_canonical();
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix.map(str::parse::<u8>) {
            None => bits,
            Some(Ok(p)) if p <= bits => p,
            Some(_) => return Some(Err(format!("{entry:?}: the prefix must be 0–{bits}"))),
        };
        Some(Ok(Net { addr, prefix }))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        fn masked(value: u128, prefix: u8, bits: u8) -> u128 {
            let host_bits = u32::from(bits - prefix);
            if host_bits >= 128 {
                0
            } else {
                value >> host_bits
            }
        }
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(net.into(), self.prefix, 128) == masked(ip.into(), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The address a URL names literally (`http://10.0.0.1/`, `http://[::1]/`;
/// the URL parser has already read `http://2130706433/` as 127.0.0.1).
fn literal(url: &Url) -> Option<IpAddr> {
    url.host_str()?.trim_matches(['[', ']']).parse().ok()
}

/// A host name as an allow-list entry: letters, digits, `-`, `_` and dots.
fn host_name(entry: &str) -> Option<String> {
    let name = entry.trim_end_matches('.').to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    valid.then_some(name)
}

/// Why a fetch was refused: the host and each address it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    host: String,
    /// Every address the host named or resolved to, with its kind.
    addresses: Vec<(IpAddr, &'static str)>,
    literal: bool,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addresses.as_slice() {
            [(_, kind)] if self.literal => write!(f, "{} is a {kind} address", self.host)?,
            addresses => {
                let listed: Vec<String> = addresses
                    .iter()
                    .map(|(ip, kind)| format!("{ip} {kind}"))
                    .collect();
                write!(
                    f,
                    "{} resolves only to non-public addresses ({})",
                    self.host,
                    listed.join(", ")
                )?
            }
        }
        write!(
            f,
            "; the service fetches only from public addresses unless {ALLOW_VARIABLE} allows it"
        )
    }
}

impl std::error::Error for Refused {}

impl OutboundPolicy {
    /// From `OUTBOUND_ALLOW_PRIVATE`'s entries: ranges (`10.20.0.0/16`,
    /// `fd00::/8`), addresses (`127.0.0.1`) or host names
    /// (`calendar.corp.internal`: whatever it resolves to). A bad entry is
    /// named in the error.
    pub fn allowing(entries: &[String]) -> Result<Self, String> {
        let mut allowed = Allowed::default();
        for entry in entries {
            let entry = entry.trim().replace(['[', ']'], "");
            match Net::parse(&entry) {
                Some(net) => allowed.nets.push(net?),
                None => allowed.hosts.push(host_name(&entry).ok_or_else(|| {
                    format!(
                        "{entry:?}: expected an address range (10.0.0.0/8), an address or a host name"
                    )
                })?),
            }
        }
        Ok(Self {
            allowed: Arc::new(allowed),
        })
    }

    /// This policy, also allowing `url`'s host: what an operator names in
    /// a setting (`PRICE_FEED_URL`) is trusted as the allow-list is.
    pub fn trusting_host_of(&self, url: &Url) -> Self {
        let mut allowed = Allowed {
            nets: self.allowed.nets.clone(),
            hosts: self.allowed.hosts.clone(),
        };
        match literal(url) {
            Some(ip) => allowed.nets.push(Net {
                addr: ip.to_canonical(),
                prefix: if ip.to_canonical().is_ipv4() { 32 } else { 128 },
            }),
            None => allowed.hosts.extend(url.host_str().and_then(host_name)),
        }
        Self {
            allowed: Arc::new(allowed),
        }
    }

    /// Whether `host` may be fetched at `ip`.
    fn permits(&self, host: &str, ip: IpAddr) -> Result<(), &'static str> {
        let Some(kind) = non_public(ip) else {
            return Ok(());
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let allowed = self.allowed.hosts.contains(&host)
            || self.allowed.nets.iter().any(|net| net.contains(ip));
        if allowed { Ok(()) } else { Err(kind) }
    }

    /// Refuses a URL whose host is a non-public literal address; a name
    /// passes here and is checked when it resolves.
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        let Some(ip) = literal(url) else {
            return Ok(());
        };
        self.permits(&ip.to_string(), ip).map_err(|kind| Refused {
            host: url.host_str().unwrap_or_default().to_string(),
            addresses: vec![(ip, kind)],
            literal: true,
        })
    }

    /// A client whose every connection, redirects included, goes through
    /// this policy. Requests still need `check_url` first (literals).
    pub fn client(&self) -> reqwest::ClientBuilder {
        let policy = self.clone();
        let redirects = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match policy.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused),
            }
        });
        reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: self.clone(),
            }))
            .redirect(redirects)
    }
}

/// The system resolver, handing the connector only the addresses the
/// policy permits.
struct GuardedResolver {
    policy: OutboundPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(permitted_addresses(
            self.policy.clone(),
            name.as_str().to_string(),
        ))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn permitted_addresses(policy: OutboundPolicy, host: String) -> Result<Addrs, BoxError> {
    let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
    let mut refused = Vec::new();
    let mut permitted = Vec::new();
    for addr in found {
        match policy.permits(&host, addr.ip()) {
            Ok(()) => permitted.push(addr),
            Err(kind) => refused.push((addr.ip(), kind)),
        }
    }
    if permitted.is_empty() && !refused.is_empty() {
        return Err(Box::new(Refused {
            host,
            addresses: refused,
            literal: false,
        }));
    }
    if !refused.is_empty() {
        tracing::warn!(%host, ?refused, "skipped the non-public addresses of a fetched host");
    }
    Ok(Box::new(permitted.into_iter()))
}

/// A failed fetch in words: the refusal when the policy made it, else
/// reqwest's reason (without the URL, which may hold a user's secret).
pub fn describe(error: reqwest::Error) -> String {
    let mut cause = std::error::Error::source(&error);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        cause = e.source();
    }
    error.without_url().to_string()
}

/// What kind of non-public address `ip` is, or `None` for a public one.
/// IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is read as the IPv4 address, and
/// NAT64 and 6to4 addresses by the IPv4 address they embed.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let kind = match ip.octets() {
        [0, 0, 0, 0] => "unspecified",
        [0, ..] => "\"this network\"",
        [127, ..] => "loopback",
        [10, ..] | [172, 16..=31, ..] | [192, 168, ..] => "private",
        [100, 64..=127, ..] => "shared (CGNAT)",
        [169, 254, ..] => "link-local",
        [192, 0, 0, _] => "IETF protocol",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "documentation",
        [192, 88, 99, _] => "6to4 relay",
        [198, 18..=19, ..] => "benchmarking",
        [224..=239, ..] => "multicast",
        [240..=255, ..] => "reserved",
        _ => return None,
    };
    Some(kind)
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let kind = match ip.segments() {
        [0, 0, 0, 0, 0, 0, 0, 0] => "unspecified",
        [0, 0, 0, 0, 0, 0, 0, 1] => "loopback",
        [0, 0, 0, 0, 0, 0, _, _] => "IPv4-compatible",
        [0, 0, 0, 0, 0xffff, 0, _, _] => "IPv4-translated",
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return v4_kind(embedded(hi, lo)),
        [0x64, 0xff9b, 1, ..] => "local NAT64",
        [0x2002, hi, lo, ..] => return v4_kind(embedded(hi, lo)),
        [0x100, 0, 0, 0, ..] => "discard-only",
        [0x2001, 0xdb8, ..] => "documentation",
        [0x2001, 0, ..] => "Teredo",
        [0x2001, 2, 0, ..] => "benchmarking",
        [0x3fff, second, ..] if second & 0xf000 == 0 => "documentation",
        [first, ..] if first & 0xfe00 == 0xfc00 => "unique-local",
        [first, ..] if first & 0xffc0 == 0xfe80 => "link-local",
        [first, ..] if first & 0xffc0 == 0xfec0 => "site-local",
        [first, ..] if first & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn policy(entries: &[&str]) -> OutboundPolicy {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        OutboundPolicy::allowing(&entries).unwrap()
    }

    #[test]
    fn loopback_private_link_local_and_other_non_public_addresses_are_named() {
        for (addr, kind) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "\"this network\""),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("100.127.255.255", "shared (CGNAT)"),
            ("169.254.169.254", "link-local"),
            ("192.0.0.8", "IETF protocol"),
            ("192.0.2.1", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::ffff:10.0.0.1", "private"),
            ("::127.0.0.1", "IPv4-compatible"),
            ("64:ff9b::7f00:1", "loopback"),
            ("2002:a00:1::", "private"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("2001::1", "Teredo"),
            ("100::1", "discard-only"),
        ] {
            assert_eq!(non_public(ip(addr)), Some(kind), "{addr}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "1.1.1.1",
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(non_public(ip(addr)), None, "{addr}");
        }
    }

    #[test]
    fn the_allow_list_admits_its_ranges_addresses_and_hosts_only() {
        let p = policy(&[
            "10.20.0.0/16",
            "127.0.0.1",
            "fd00::/8",
            "Calendar.Corp.Internal.",
        ]);
        assert!(p.permits("x", ip("10.20.5.5")).is_ok());
        assert!(p.permits("x", ip("10.21.0.1")).is_err());
        assert!(p.permits("x", ip("127.0.0.1")).is_ok());
        assert!(
            p.permits("x", ip("::ffff:127.0.0.1")).is_ok(),
            "mapped form"
        );
        assert!(p.permits("x", ip("127.0.0.2")).is_err());
        assert!(p.permits("x", ip("fd12::1")).is_ok());
        assert!(p.permits("x", ip("fc00::1")).is_err());
        assert!(p.permits("calendar.corp.internal", ip("10.99.0.1")).is_ok());
        assert!(p.permits("other.internal", ip("10.99.0.1")).is_err());
        assert!(
            policy(&["0.0.0.0/0"])
                .permits("x", ip("192.168.0.1"))
                .is_ok()
        );
        assert!(policy(&["::1"]).permits("x", ip("::1")).is_ok());
        assert!(policy(&["[::1]"]).permits("x", ip("::1")).is_ok());
    }

    #[test]
    fn a_malformed_entry_is_named() {
        for bad in [
            "10.0.0.0/33",
            "fd00::/129",
            "http://x",
            "a b",
            "*",
            "10.0.0.0/x",
        ] {
            let err = OutboundPolicy::allowing(&[bad.to_string()]).unwrap_err();
            assert!(err.contains(bad.trim_start_matches('[')), "{bad}: {err}");
        }
    }

    #[test]
    fn literal_urls_are_checked_and_names_are_left_to_the_resolver() {
        let p = OutboundPolicy::default();
        for url in [
            "http://127.0.0.1:8080/a.ics",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/a.ics",
            "http://[::ffff:7f00:1]/",
            "https://10.0.0.5/cal.ics",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            let refused = p.check_url(&Url::parse(url).unwrap()).unwrap_err();
            assert!(refused.to_string().contains(ALLOW_VARIABLE), "{refused}");
        }
        let refused = p
            .check_url(&Url::parse("http://169.254.169.254/x").unwrap())
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "169.254.169.254 is a link-local address; the service fetches only from public addresses unless OUTBOUND_ALLOW_PRIVATE allows it"
        );
        for url in [
            "https://calendar.example.com/a.ics",
            "http://localhost/",
            "http://8.8.8.8/",
        ] {
            assert!(p.check_url(&Url::parse(url).unwrap()).is_ok(), "{url}");
        }
    }

    #[test]
    fn an_operators_own_host_is_trusted_like_the_allow_list() {
        let p = OutboundPolicy::default();
        let feed = Url::parse("http://10.0.0.7:9000/quote").unwrap();
        let trusted = p.trusting_host_of(&feed);
        assert!(trusted.check_url(&feed).is_ok());
        assert!(
            trusted
                .check_url(&Url::parse("http://10.0.0.8/").unwrap())
                .is_err()
        );
        let named = p.trusting_host_of(&Url::parse("https://fares.internal/v1").unwrap());
        assert!(named.permits("fares.internal", ip("10.1.1.1")).is_ok());
        assert!(named.permits("other.internal", ip("10.1.1.1")).is_err());
    }
}
