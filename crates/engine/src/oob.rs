//! The out-of-band control connection (TCP, like perftest's port 18515): handshake, fabric
//! address exchange, per-size coordination, and liveness. It stays open for the whole run because
//! RDM endpoints often report nothing when the peer dies; its EOF is how we notice.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rdmabench_results::HostFacts;
use rdmabench_stats::SizeMeasurement;
use serde::{Deserialize, Serialize};

use crate::config::RunSpec;
use crate::error::EngineError;

/// First field of every hello, so a stray connection (a port scanner, perftest) is told apart.
pub const MAGIC: &str = "rdmabench-pingpong";
/// Bumped whenever the messages below change incompatibly (4: the welcome names the fabric, so
/// both ends open the same one of efa's two).
pub const PROTOCOL_VERSION: u32 = 4;
/// Control messages are small; anything larger is a protocol error, not an allocation.
const MAX_FRAME: u32 = 1 << 20;

/// Every control message, as length-prefixed JSON frames.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Message {
    /// Client -> server: who I am and what I want to run.
    Hello {
        /// Must be MAGIC.
        magic: String,
        /// Must be PROTOCOL_VERSION.
        protocol: u32,
        /// rdmabench version of the client.
        tool_version: String,
        /// The client's host facts.
        host: Box<HostFacts>,
        /// `RunConfig::agreement()` of the client.
        agreement: Vec<(String, String)>,
    },
    /// Server -> client: accepted; which provider the server opened and its fabric address.
    Welcome {
        /// The server's host facts.
        host: Box<HostFacts>,
        /// Full provider name (e.g. "tcp;ofi_rxm"); None for the socket transport.
        provider: Option<String>,
        /// Which of the provider's fabrics (`FabricInfo::fabric_kind`: efa or efa-direct for
        /// efa); None for the socket transport.
        fabric_kind: Option<String>,
        /// Why the server chose them (`FabricInfo::selected`).
        selected: Option<String>,
        /// fi_getname of the server endpoint; for the socket transport, a session token.
        address: Vec<u8>,
    },
    /// Either way: the run cannot go on, and why.
    Abort {
        /// Human-readable reason.
        reason: String,
    },
    /// Client -> server: the client's fabric address.
    ClientAddress {
        /// fi_getname of the client endpoint.
        address: Vec<u8>,
    },
    /// Client -> server: run `units` round trips (ping-pong) or windows (bandwidth) of `size`
    /// bytes next.
    Phase {
        /// Message size.
        size: u64,
        /// Number of round trips or windows.
        units: u64,
        /// Index of the first round trip or message (for verification patterns).
        first_iteration: u64,
    },
    /// Server -> client: receive posted, go.
    Ready,
    /// Client -> server: all sizes done; the client's measurements, so the server can report too.
    Finished {
        /// One row per size.
        results: Vec<SizeMeasurement>,
    },
    /// Either way (RMA tests): where the sender's memory may be read and written.
    Memory {
        /// Address in the key's terms (the virtual address under FI_MR_VIRT_ADDR, else 0).
        address: u64,
        /// The memory registration's key.
        key: u64,
    },
    /// Client -> server: a phase in which the server only kept its endpoint progressing (RMA
    /// bandwidth, reads) is over.
    PhaseDone,
    /// Coordinator -> agent: serve the next run that connects, with this configuration.
    Serve {
        /// What both ends measure.
        spec: RunSpec,
    },
    /// Agent -> coordinator: listening for the run.
    Serving,
    /// Agent -> coordinator: the served run ended; why, if it failed.
    Served {
        /// The failure, None when the run completed.
        error: Option<String>,
    },
    /// Coordinator -> agent: measure against the agent at `peer` (which was told to serve).
    Measure {
        /// host:port of the serving agent, as the coordinator reaches it.
        peer: String,
        /// What both ends measure.
        spec: RunSpec,
    },
    /// Agent -> coordinator: what the measurement produced.
    Measured {
        /// One row per completed size.
        results: Vec<SizeMeasurement>,
        /// Why it ended early or failed, None when complete.
        error: Option<String>,
        /// The provider it opened (what `--provider auto` chose); None on the socket transport
        /// or when it failed before opening one.
        #[serde(default)]
        provider: Option<String>,
    },
}

/// The control connection with framing and timeouts.
pub struct ControlChannel {
    stream: TcpStream,
    timeout: Duration,
    /// A request the peer sent while this end was still finishing a phase (`check_alive`
    /// keeps it): the next `receive` returns it.
    early: Option<Message>,
}

impl ControlChannel {
    /// Wraps a connected stream; every blocking read or write is bounded by `timeout`.
    pub fn new(stream: TcpStream, timeout: Duration) -> Result<Self, EngineError> {
        stream.set_nodelay(true).map_err(EngineError::io(
            "setting TCP_NODELAY on the control connection",
        ))?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(EngineError::io("setting the control connection's timeout"))?;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(EngineError::io("setting the control connection's timeout"))?;
        Ok(ControlChannel {
            stream,
            timeout,
            early: None,
        })
    }

    /// The underlying stream (local/peer addresses).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends one message.
    pub fn send(&mut self, message: &Message) -> Result<(), EngineError> {
        let body = serde_json::to_vec(message)
            .map_err(|e| EngineError::Protocol(format!("cannot encode a control message: {e}")))?;
        let len = u32::try_from(body.len())
            .ok()
            .filter(|&l| l <= MAX_FRAME)
            .ok_or_else(|| EngineError::Protocol("control message too large".into()))?;
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&body);
        self.stream
            .write_all(&frame)
            .map_err(|e| self.classify(e, "sending a control message"))
    }

    /// Receives one message, waiting at most the timeout; `during` names the stage for errors.
    pub fn receive(&mut self, during: &str) -> Result<Message, EngineError> {
        if let Some(message) = self.early.take() {
            return Ok(message);
        }
        let mut len = [0u8; 4];
        self.stream
            .read_exact(&mut len)
            .map_err(|e| self.classify(e, during))?;
        let len = u32::from_be_bytes(len);
        if len > MAX_FRAME {
            return Err(EngineError::Protocol(format!(
                "the peer sent a {len}-byte control frame {during}; is it really rdmabench?"
            )));
        }
        let mut body = vec![0u8; len as usize];
        self.stream
            .read_exact(&mut body)
            .map_err(|e| self.classify(e, during))?;
        let message: Message = serde_json::from_slice(&body).map_err(|e| {
            EngineError::Protocol(format!("unreadable control message {during}: {e}"))
        })?;
        if let Message::Abort { reason } = message {
            return Err(EngineError::Handshake(format!(
                "the peer aborted: {reason}"
            )));
        }
        Ok(message)
    }

    /// Tells the peer why we stop; best effort, since the peer may already be gone.
    pub fn abort(&mut self, reason: &str) {
        let _ = self.send(&Message::Abort {
            reason: reason.to_string(),
        });
    }

    /// Passes `result` through, telling the peer why we stop when it is an error, so both ends
    /// report the same cause.
    pub fn abort_on_error<T>(&mut self, result: Result<T, EngineError>) -> Result<T, EngineError> {
        if let Err(e) = &result {
            self.abort(&e.to_string());
        }
        result
    }

    /// Non-blocking check used while spinning on the fabric: Ok if the peer is still there
    /// (silent, or waiting with its next request), an error if it closed the connection or
    /// aborted.
    pub fn check_alive(&mut self, during: &str) -> Result<(), EngineError> {
        if self.early.is_some() {
            return Ok(());
        }
        // The peer speaks between phases only, but it may finish a phase first: both ways, or
        // when our last sends or the acknowledgement are still completing here, its next
        // request can arrive while we wait. Keep it for `receive`; an abort is an error.
        if let Some(message) = self.poll(during)? {
            self.early = Some(message);
        }
        Ok(())
    }

    /// Non-blocking: the message the peer sent, None while it is silent, an error if it
    /// closed the connection or aborted.
    pub fn poll(&mut self, during: &str) -> Result<Option<Message>, EngineError> {
        if let Some(message) = self.early.take() {
            return Ok(Some(message));
        }
        self.stream
            .set_nonblocking(true)
            .map_err(EngineError::io("polling the control connection"))?;
        let mut probe = [0u8; 1];
        let peeked = self.stream.peek(&mut probe);
        self.stream
            .set_nonblocking(false)
            .map_err(EngineError::io("polling the control connection"))?;
        match peeked {
            Ok(0) => Err(EngineError::PeerGone {
                during: during.to_string(),
            }),
            Ok(_) => self.receive(during).map(Some),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(self.classify(e, during)),
        }
    }

    fn classify(&self, error: std::io::Error, during: &str) -> EngineError {
        match error.kind() {
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe => EngineError::PeerGone {
                during: during.to_string(),
            },
            ErrorKind::WouldBlock | ErrorKind::TimedOut => EngineError::Stalled {
                timeout: self.timeout,
                during: during.to_string(),
            },
            _ => EngineError::Io {
                context: during.to_string(),
                source: error,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (ControlChannel, ControlChannel) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let t = Duration::from_secs(5);
        (
            ControlChannel::new(client, t).unwrap(),
            ControlChannel::new(server, t).unwrap(),
        )
    }

    #[test]
    fn messages_round_trip_and_eof_is_reported_as_peer_gone() {
        let (mut a, mut b) = pair();
        a.send(&Message::Ready).unwrap();
        assert!(matches!(b.receive("test").unwrap(), Message::Ready));
        assert!(b.check_alive("test").is_ok());
        drop(a);
        assert!(matches!(
            b.check_alive("mid-run"),
            Err(EngineError::PeerGone { .. })
        ));
    }

    #[test]
    fn an_abort_from_the_peer_surfaces_with_its_reason() {
        let (mut a, mut b) = pair();
        a.abort("sizes differ");
        let err = b.receive("handshake").unwrap_err().to_string();
        assert!(err.contains("sizes differ"), "{err}");
    }

    #[test]
    fn a_request_that_arrives_before_this_end_finished_its_phase_is_kept_for_later() {
        // Both ways, the client can finish a phase while the server still completes its
        // last sends; the client's next request must wait, not end the run.
        let (mut client, mut server) = pair();
        client
            .send(&Message::Phase {
                size: 4,
                units: 16,
                first_iteration: 80,
            })
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while server.early.is_none() {
            assert!(std::time::Instant::now() < deadline, "never arrived");
            server.check_alive("finishing a phase").unwrap();
        }
        assert!(server.check_alive("finishing a phase").is_ok());
        assert!(matches!(
            server.receive("between phases").unwrap(),
            Message::Phase {
                first_iteration: 80,
                ..
            }
        ));
        // An abort is still an abort.
        client.abort("out of memory");
        let err = loop {
            match server.check_alive("mid-run") {
                Ok(()) => assert!(std::time::Instant::now() < deadline, "never arrived"),
                Err(e) => break e.to_string(),
            }
        };
        assert!(err.contains("out of memory"), "{err}");
    }

    #[test]
    fn oversized_frames_are_rejected_without_allocating() {
        let (a, mut b) = pair();
        let mut raw = a.stream;
        raw.write_all(&u32::MAX.to_be_bytes()).unwrap();
        let err = b.receive("handshake").unwrap_err().to_string();
        assert!(err.contains("control frame"), "{err}");
    }

    #[test]
    fn a_silent_peer_times_out_instead_of_hanging() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server, _) = listener.accept().unwrap();
        let mut a = ControlChannel::new(client, Duration::from_millis(100)).unwrap();
        assert!(matches!(
            a.receive("waiting"),
            Err(EngineError::Stalled { .. })
        ));
    }
}
