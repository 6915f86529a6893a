//! Where the requests a user's definition names may go (DataArts `RESTAPI` nodes): each
//! tenant's outbound allowlist. The operator's own endpoints (`[functions]`, `--function-url`)
//! are configuration, not user input, and are not checked.
//!
//! A target is checked before any connection is made: its host is resolved, every address it
//! resolves to must be allowed, and the request then goes to the checked address (the URL's
//! host is replaced by it; the `Host` header keeps the name), so a DNS answer that changes
//! between the check and the connection (rebinding) cannot send it elsewhere. For the same
//! reason such requests follow no redirect and use no proxy (see [`targets_client`]).

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net};
use reqwest::Url;
use sluice_store::TenantId;

/// Cloud metadata services outside the link-local ranges (those are denied as a whole):
/// Alibaba Cloud's `100.100.100.200` and AWS's IPv6 `fd00:ec2::254`.
const METADATA: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
];

/// One entry of an allowlist, as the configuration writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `api.example.com`, `api.example.com:8443`, `*.example.com` (any subdomain): a name as
    /// the URL writes it.
    Host { name: String, port: Option<u16> },
    /// `10.1.2.3`, `10.1.2.3:8080`, `[fd00::1]:80`: one address, written out. The only kind
    /// of entry that allows a link-local or cloud-metadata address.
    Address { ip: IpAddr, port: Option<u16> },
    /// `10.0.0.0/8`, `fd00::/8`: a range of addresses, any port.
    Network(IpNet),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the outbound allowlist entry {0:?} is not a host, host:port, address, address:port or CIDR range"
)]
pub struct BadRule(pub String);

impl FromStr for Rule {
    type Err = BadRule;

    fn from_str(text: &str) -> Result<Self, BadRule> {
        let bad = || BadRule(text.to_string());
        let entry = text.trim();
        if let Ok(net) = entry.parse::<IpNet>() {
            return Ok(Rule::Network(net));
        }
        if let Ok(ip) = entry.parse::<IpAddr>() {
            return Ok(Rule::Address {
                ip: ip.to_canonical(),
                port: None,
            });
        }
        if let Ok(address) = entry.parse::<SocketAddr>() {
            return Ok(Rule::Address {
                ip: address.ip().to_canonical(),
                port: Some(address.port()),
            });
        }
        let (name, port) = match entry.rsplit_once(':') {
            Some((name, port)) => (name, Some(port.parse::<u16>().map_err(|_| bad())?)),
            None => (entry, None),
        };
        let bare = name.strip_prefix("*.").unwrap_or(name);
        let valid_name = !bare.is_empty()
            && bare
                .split('.')
                .all(|label| !label.is_empty() && label.bytes().all(is_name_byte));
        if !valid_name || bare.parse::<IpAddr>().is_ok() {
            return Err(bad());
        }
        Ok(Rule::Host {
            name: name.to_ascii_lowercase(),
            port,
        })
    }
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Host { name, port: None } => write!(f, "{name}"),
            Rule::Host {
                name,
                port: Some(port),
            } => write!(f, "{name}:{port}"),
            Rule::Address { ip, port: None } => write!(f, "{ip}"),
            Rule::Address {
                ip,
                port: Some(port),
            } => write!(f, "{}", SocketAddr::new(*ip, *port)),
            Rule::Network(net) => write!(f, "{net}"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Rule {
    /// Whether this entry lets a request for `host` (as the URL names it) reach `address`.
    fn allows(&self, host: &str, address: SocketAddr) -> bool {
        let port_ok = |port: &Option<u16>| port.is_none_or(|p| p == address.port());
        let ip = address.ip();
        match self {
            Rule::Address { ip: listed, port } => *listed == ip && port_ok(port),
            _ if is_sensitive(ip) => false,
            Rule::Network(net) => net.contains(&ip),
            Rule::Host { name, port } => host_matches(name, host) && port_ok(port),
        }
    }
}

fn host_matches(rule: &str, host: &str) -> bool {
    match rule.strip_prefix("*.") {
        Some(domain) => host
            .strip_suffix(domain)
            .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
        None => rule == host,
    }
}

/// Link-local and cloud-metadata addresses: reachable only through an entry naming them.
fn is_sensitive(ip: IpAddr) -> bool {
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    };
    link_local || METADATA.contains(&ip)
}

/// `127.0.0.0/8` and `::1`: what the development tenant may reach unless configured.
pub fn loopback() -> Vec<Rule> {
    vec![
        Rule::Network(IpNet::V4(Ipv4Net::new_assert(
            Ipv4Addr::new(127, 0, 0, 0),
            8,
        ))),
        Rule::Address {
            ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
            port: None,
        },
    ]
}

/// The entries of one tenant; an empty list allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist(Vec<Rule>);

impl Allowlist {
    pub fn new(rules: Vec<Rule>) -> Self {
        Allowlist(rules)
    }

    fn describe(&self) -> String {
        if self.0.is_empty() {
            return "no entry".to_string();
        }
        let entries: Vec<String> = self.0.iter().map(Rule::to_string).collect();
        entries.join(", ")
    }
}

/// Who may reach what.
#[derive(Debug, Clone, Default)]
pub enum Outbound {
    /// `sluice run`: the definition is the operator's own; it may reach anything.
    #[default]
    Unrestricted,
    /// `sluice serve`: each tenant's allowlist; a tenant without one may reach nothing.
    PerTenant(HashMap<TenantId, Allowlist>),
}

/// Why a target was refused. Each message names the rule that refused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{0} is not an http:// or https:// URL with a host")]
    NotHttp(String),
    #[error("resolving {host} failed: {reason}")]
    Unresolved { host: String, reason: String },
    #[error(
        "{url} resolves to {address}, a link-local or cloud-metadata address: the outbound allowlist of tenant {tenant} allows it only in an entry naming that address"
    )]
    Sensitive {
        url: String,
        address: SocketAddr,
        tenant: String,
    },
    #[error(
        "{url} resolves to {address}, which the outbound allowlist of tenant {tenant} ({entries}) does not allow"
    )]
    NotListed {
        url: String,
        address: SocketAddr,
        tenant: String,
        entries: String,
    },
    #[error("{url} is not reachable from a definition run by this server without a tenant")]
    NoTenant { url: String },
}

impl Outbound {
    /// Checks `url` for `tenant`'s definition and says where to connect: the URL with its host
    /// replaced by the checked address, and the `Host` header to send (the name as written).
    pub async fn check(
        &self,
        tenant: Option<&TenantId>,
        url: &str,
    ) -> Result<(Url, Option<String>), Refused> {
        let parsed = Url::parse(url).map_err(|_| Refused::NotHttp(url.to_string()))?;
        let Outbound::PerTenant(tenants) = self else {
            return Ok((parsed, None));
        };
        let Some(tenant) = tenant else {
            return Err(Refused::NoTenant { url: url.into() });
        };
        let empty = Allowlist::default();
        let allowlist = tenants.get(tenant).unwrap_or(&empty);
        let (host, addresses) = resolve(&parsed).await?;
        for address in &addresses {
            if !allowlist.0.iter().any(|rule| rule.allows(&host, *address)) {
                return Err(refusal(url, *address, tenant, allowlist));
            }
        }
        let Some(first) = addresses.first() else {
            return Err(Refused::Unresolved {
                host,
                reason: "no address".into(),
            });
        };
        let authority = host_header(&parsed);
        let mut pinned = parsed;
        pinned
            .set_ip_host(first.ip())
            .map_err(|()| Refused::NotHttp(url.to_string()))?;
        Ok((pinned, Some(authority)))
    }
}

fn refusal(url: &str, address: SocketAddr, tenant: &TenantId, allowlist: &Allowlist) -> Refused {
    if is_sensitive(address.ip()) {
        Refused::Sensitive {
            url: url.into(),
            address,
            tenant: tenant.to_string(),
        }
    } else {
        Refused::NotListed {
            url: url.into(),
            address,
            tenant: tenant.to_string(),
            entries: allowlist.describe(),
        }
    }
}

/// The URL's host as rules compare it, and every address it stands for.
async fn resolve(url: &Url) -> Result<(String, Vec<SocketAddr>), Refused> {
    let not_http = || Refused::NotHttp(url.to_string());
    if !matches!(url.scheme(), "http" | "https") {
        return Err(not_http());
    }
    let port = url.port_or_known_default().ok_or_else(not_http)?;
    let host = url.host_str().ok_or_else(not_http)?;
    // The URL parser has validated the host: an IPv6 literal is bracketed, names lower-cased.
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok((
            host.to_string(),
            vec![SocketAddr::new(ip.to_canonical(), port)],
        ));
    }
    let found = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Refused::Unresolved {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
    let addresses = found
        .map(|a| SocketAddr::new(a.ip().to_canonical(), a.port()))
        .collect();
    Ok((host.to_string(), addresses))
}

fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The client of requests a definition names: no redirect (its target would go unchecked),
/// no proxy (it would resolve the name again).
pub(crate) fn targets_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Rule {
        text.parse().expect(text)
    }

    fn per_tenant(entries: &[&str]) -> Outbound {
        let rules = entries.iter().map(|e| rule(e)).collect();
        Outbound::PerTenant(HashMap::from([(TenantId::new("t"), Allowlist::new(rules))]))
    }

    async fn check(outbound: &Outbound, url: &str) -> Result<(Url, Option<String>), Refused> {
        outbound.check(Some(&TenantId::new("t")), url).await
    }

    #[test]
    fn entries_parse_into_their_kinds() {
        assert_eq!(
            rule("api.Example.com"),
            Rule::Host {
                name: "api.example.com".into(),
                port: None
            }
        );
        assert_eq!(
            rule("api.example.com:8443"),
            Rule::Host {
                name: "api.example.com".into(),
                port: Some(8443)
            }
        );
        assert_eq!(
            rule("10.1.2.3:80"),
            Rule::Address {
                ip: "10.1.2.3".parse().unwrap(),
                port: Some(80)
            }
        );
        assert_eq!(
            rule("[::ffff:169.254.169.254]:80"),
            Rule::Address {
                ip: "169.254.169.254".parse().unwrap(),
                port: Some(80)
            },
            "IPv4-mapped addresses are the IPv4 address"
        );
        assert_eq!(
            rule("10.0.0.0/8"),
            Rule::Network("10.0.0.0/8".parse().unwrap())
        );
        assert_eq!(rule("*.example.com").to_string(), "*.example.com");
        for bad in ["", "a b", "host:port", "10.0.0.0/33", "http://x", "*."] {
            assert!(bad.parse::<Rule>().is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_tenant_without_entries_reaches_nothing() {
        let refused = check(&per_tenant(&[]), "http://127.0.0.1:9/x").await;
        assert!(
            matches!(&refused, Err(Refused::NotListed { entries, .. }) if entries == "no entry"),
            "{refused:?}"
        );
        let unknown = per_tenant(&["127.0.0.1"])
            .check(Some(&TenantId::new("other")), "http://127.0.0.1/")
            .await;
        assert!(matches!(unknown, Err(Refused::NotListed { .. })));
        let no_tenant = per_tenant(&["127.0.0.1"])
            .check(None, "http://127.0.0.1/")
            .await;
        assert!(matches!(no_tenant, Err(Refused::NoTenant { .. })));
    }

    #[tokio::test]
    async fn addresses_ranges_and_ports_allow_what_they_name() {
        let outbound = per_tenant(&["127.0.0.1:8080", "10.0.0.0/8"]);
        let (url, host) = check(&outbound, "http://127.0.0.1:8080/a?b=1")
            .await
            .unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/a?b=1");
        assert_eq!(host.as_deref(), Some("127.0.0.1:8080"));
        assert!(check(&outbound, "http://127.0.0.1:8081/").await.is_err());
        assert!(check(&outbound, "http://10.20.30.40:1234/").await.is_ok());
        assert!(check(&outbound, "http://11.0.0.1/").await.is_err());
        assert!(check(&outbound, "ftp://10.0.0.1/").await.is_err());
    }

    #[tokio::test]
    async fn link_local_and_metadata_need_an_entry_naming_the_address() {
        let wide = per_tenant(&["0.0.0.0/0", "::/0"]);
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://100.100.100.200/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[fe80::1]/",
        ] {
            let refused = check(&wide, url).await;
            assert!(
                matches!(refused, Err(Refused::Sensitive { .. })),
                "{url}: {refused:?}"
            );
        }
        assert!(check(&wide, "http://10.1.1.1/").await.is_ok());
        let named = per_tenant(&["169.254.169.254"]);
        assert!(check(&named, "http://169.254.169.254/").await.is_ok());
    }

    #[tokio::test]
    async fn a_name_is_resolved_and_the_request_pinned_to_the_checked_address() {
        let by_name = per_tenant(&["localhost"]);
        let (url, host) = check(&by_name, "http://localhost:9000/f").await.unwrap();
        assert!(url.host_str().is_some_and(|h| h != "localhost"), "{url}");
        assert_eq!(host.as_deref(), Some("localhost:9000"));
        // A range that does not hold what the name resolves to refuses it.
        let refused = check(&per_tenant(&["10.0.0.0/8"]), "http://localhost/").await;
        assert!(
            matches!(refused, Err(Refused::NotListed { .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        assert!(host_matches("*.example.com", "a.example.com"));
        assert!(host_matches("*.example.com", "a.b.example.com"));
        assert!(!host_matches("*.example.com", "example.com"));
        assert!(!host_matches("*.example.com", "badexample.com"));
    }

    #[tokio::test]
    async fn the_development_default_is_loopback() {
        let dev = Outbound::PerTenant(HashMap::from([(
            TenantId::new("t"),
            Allowlist::new(loopback()),
        )]));
        assert!(check(&dev, "http://127.0.0.1:1/").await.is_ok());
        assert!(check(&dev, "http://127.9.9.9:1/").await.is_ok());
        assert!(check(&dev, "http://[::1]:1/").await.is_ok());
        assert!(check(&dev, "http://10.0.0.1/").await.is_err());
    }
}
