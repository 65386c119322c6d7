//! Source networks for first-seen: an address's /24 (IPv4) or /64 (IPv6), or its autonomous
//! system when a MaxMind ASN database (GeoLite2-ASN or GeoIP2-ISP `.mmdb`) is configured.
//!
//! An autonomous system is the better unit: a laptop moving between DHCP leases of one
//! provider stays in one AS, while an intruder's VPS provider is a new one. Addresses the
//! database does not know fall back to their /24 or /64.

use std::net::IpAddr;
use std::path::Path;

/// How source addresses are grouped into networks.
#[derive(Default)]
pub struct Networks {
    asn: Option<maxminddb::Reader<Vec<u8>>>,
}

impl std::fmt::Debug for Networks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Networks")
            .field("asn_database", &self.asn.is_some())
            .finish()
    }
}

impl Networks {
    /// Grouping by /24 and /64 only.
    pub fn prefixes() -> Networks {
        Networks::default()
    }

    /// Grouping by autonomous system from the database at `path`; the error says why it
    /// cannot be used.
    pub fn with_asn_database(path: &Path) -> Result<Networks, String> {
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|e| format!("asn_database {}: {e}", path.display()))?;
        let kind = &reader.metadata().database_type;
        if !(kind.contains("ASN") || kind.contains("ISP")) {
            return Err(format!(
                "asn_database {}: a {kind:?} database has no autonomous systems (GeoLite2-ASN or GeoIP2-ISP expected)",
                path.display()
            ));
        }
        Ok(Networks { asn: Some(reader) })
    }

    /// The network of `ip` as text (`AS64500 EXAMPLE-NET`, `198.51.100.0/24`); `None` for
    /// what is not an address (AWS service names in `sourceIPAddress`).
    pub fn of(&self, ip: &str) -> Option<String> {
        let addr = ip.trim().parse::<IpAddr>().ok()?;
        self.autonomous_system(addr)
            .or_else(|| Some(prefix_of(addr)))
    }

    fn autonomous_system(&self, addr: IpAddr) -> Option<String> {
        let found = self.asn.as_ref()?.lookup(addr).ok()?;
        let asn: maxminddb::geoip2::Asn = found.decode().ok()??;
        let number = asn.autonomous_system_number?;
        // The organisation name is shown in alerts: keep it printable and short.
        let org: String = asn
            .autonomous_system_organization
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect();
        Some(if org.is_empty() {
            format!("AS{number}")
        } else {
            format!("AS{number} {org}")
        })
    }
}

/// The /24 (IPv4) or /64 (IPv6) network of an address, as text; `None` for service names.
pub fn network_of(ip: &str) -> Option<String> {
    ip.trim().parse::<IpAddr>().ok().map(prefix_of)
}

fn prefix_of(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_without_a_database() {
        let n = Networks::prefixes();
        assert_eq!(n.of("198.51.100.7").as_deref(), Some("198.51.100.0/24"));
        assert_eq!(
            n.of("2001:db8:1:2:3::9").as_deref(),
            Some("2001:db8:1:2::/64")
        );
        assert_eq!(n.of("ec2.amazonaws.com"), None);
    }

    #[test]
    fn a_missing_database_is_an_error_naming_it() {
        let e = Networks::with_asn_database(Path::new("/nonexistent/asn.mmdb")).unwrap_err();
        assert!(e.contains("/nonexistent/asn.mmdb"), "{e}");
    }
}
