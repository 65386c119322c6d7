//! Syslog over TLS (RFC 5425) against a real TLS collector on loopback, with certificates made
//! by the `openssl` command: a message reaches a collector whose certificate chains to the
//! configured CA, and nothing is sent to one that does not.

mod common;

use trailwatch_sink::{SyslogBody, SyslogConfig, SyslogSink, SyslogTls};

#[cfg(not(feature = "tls"))]
#[test]
fn syslog_tls_without_the_tls_feature_is_a_config_error() {
    let mut config = SyslogConfig::new("127.0.0.1:6514", SyslogBody::Json);
    config.tls = Some(SyslogTls::default());
    assert!(SyslogSink::new("siem", config).is_err());
}

#[cfg(feature = "tls")]
mod with_tls {
    use super::*;
    use common::alert;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::io::Read;
    use std::net::TcpListener;
    use std::path::Path;
    use std::process::Command;
    use std::sync::{mpsc, Arc};
    use std::time::Duration;
    use trailwatch_model::Severity;
    use trailwatch_sink::Sink;

    fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (Debian package openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A CA, and a server certificate it signed for `localhost` and 127.0.0.1.
    fn pki(dir: &Path, ca: &str) {
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let ca_key = format!("{ca}.key");
        let ca_pem = format!("{ca}.pem");
        let mut a = vec!["req", "-x509"];
        a.extend(ec);
        a.extend([
            "-keyout",
            &ca_key,
            "-out",
            &ca_pem,
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
        ]);
        openssl(dir, &a);
        let mut b = vec!["req"];
        b.extend(ec);
        b.extend([
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ]);
        openssl(dir, &b);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .expect("ext");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                &ca_pem,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-out",
                "leaf.pem",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        );
    }

    /// A TLS collector for `connections` connections: each one's plaintext, or its error.
    fn collector(dir: &Path, connections: usize) -> (u16, mpsc::Receiver<Result<Vec<u8>, String>>) {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(dir.join("leaf.pem"))
                .expect("leaf.pem")
                .collect::<Result<_, _>>()
                .expect("certs");
        let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).expect("leaf.key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for _ in 0..connections {
                let Ok((tcp, _)) = listener.accept() else {
                    return;
                };
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let conn = rustls::ServerConnection::new(Arc::clone(&config)).expect("conn");
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut got = Vec::new();
                let r = tls
                    .read_to_end(&mut got)
                    .map(|_| got)
                    .map_err(|e| e.to_string());
                let _ = tx.send(r);
            }
        });
        (port, rx)
    }

    #[test]
    fn syslog_over_tls_reaches_a_collector_the_ca_vouches_for_only() {
        let tmp = tempfile::tempdir().expect("tempdir");
        pki(tmp.path(), "ca");
        // Another CA, not the collector's.
        let other = tmp.path().join("other");
        std::fs::create_dir(&other).expect("dir");
        pki(&other, "ca");

        let (port, rx) = collector(tmp.path(), 2);
        let mut config = SyslogConfig::new(format!("127.0.0.1:{port}"), SyslogBody::Json);
        config.tls = Some(SyslogTls {
            ca_file: Some(tmp.path().join("ca.pem")),
            server_name: Some("localhost".into()),
        });
        let sink = SyslogSink::new("siem", config.clone()).expect("sink");
        let a = alert("t1", Severity::High, "over TLS");
        sink.send(&a).expect("send over TLS");
        let got = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a connection")
            .expect("plaintext");
        let text = String::from_utf8(got).expect("utf-8");
        let (len, msg) = text.split_once(' ').expect("octet count");
        assert_eq!(len.parse::<usize>().expect("length"), msg.len());
        assert!(msg.starts_with("<83>1 "), "{msg}");
        assert!(msg.contains("\"id\":\"t1\""), "{msg}");

        // Trusting another CA: the handshake fails, the send fails, nothing is delivered.
        config.tls = Some(SyslogTls {
            ca_file: Some(other.join("ca.pem")),
            server_name: Some("localhost".into()),
        });
        let wrong = SyslogSink::new("siem", config.clone()).expect("sink");
        assert!(wrong.send(&a).is_err(), "sent to an untrusted collector");
        let server_side = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a connection");
        assert!(
            server_side.map_or(true, |b| b.is_empty()),
            "plaintext leaked"
        );

        // A CA file that holds no certificate is refused when the sink is made.
        let empty = tmp.path().join("empty.pem");
        std::fs::write(&empty, "nothing").expect("write");
        config.tls = Some(SyslogTls {
            ca_file: Some(empty.clone()),
            server_name: None,
        });
        let err = SyslogSink::new("siem", config).err().expect("refused");
        assert!(err.to_string().contains("empty.pem"), "{err}");
    }
}
