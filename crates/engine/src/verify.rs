//! `--verify`: every payload carries a pattern that depends on its message number, so a stale,
//! misplaced or corrupted buffer cannot pass.

use crate::error::EngineError;
use crate::transport::Transport;

/// Byte `offset` of the payload of message (or round trip) `iteration`: varies per iteration
/// so a stale buffer cannot pass verification.
fn pattern(iteration: u64, offset: usize) -> u8 {
    (iteration.wrapping_mul(131).wrapping_add(offset as u64) & 0xff) as u8
}

/// Writes message `iteration`'s pattern into the first `len` bytes.
pub(crate) fn fill(buffer: &mut [u8], len: usize, iteration: u64) {
    for (offset, byte) in buffer[..len].iter_mut().enumerate() {
        *byte = pattern(iteration, offset);
    }
}

/// Checks that the first `size` bytes hold message `iteration`'s pattern.
pub(crate) fn check(buffer: &[u8], size: u64, iteration: u64) -> Result<(), EngineError> {
    let len = size as usize;
    match buffer[..len]
        .iter()
        .enumerate()
        .find(|(offset, byte)| **byte != pattern(iteration, *offset))
    {
        None => Ok(()),
        Some((offset, &actual)) => Err(EngineError::Corrupted {
            size,
            iteration,
            offset,
            expected: pattern(iteration, offset),
            actual,
        }),
    }
}

/// A responder's echo under --verify: checks that op 0's receive buffer holds message
/// `iteration` and puts the same bytes in op 0's send buffer. They are written from the pattern
/// the check just matched, not copied, so the timed loop allocates nothing.
pub(crate) fn echo_verified(
    transport: &mut dyn Transport,
    size: u64,
    iteration: u64,
) -> Result<(), EngineError> {
    check(transport.receive_buffer(0)?, size, iteration)?;
    fill(transport.send_buffer(0)?, size as usize, iteration);
    Ok(())
}

/// Checks a received message of a window that started at message `base`: it must be one of
/// the window's messages not seen yet (`expected` first, the usual in-order case), since a
/// provider without send-after-send ordering may deliver a window in another order.
pub(crate) fn check_in_window(
    buffer: &[u8],
    size: u64,
    base: u64,
    expected: usize,
    seen: &mut [bool],
) -> Result<(), EngineError> {
    let candidates = std::iter::once(expected).chain(0..seen.len());
    for k in candidates {
        if !seen[k] && check(buffer, size, base + k as u64).is_ok() {
            seen[k] = true;
            return Ok(());
        }
    }
    match (0..seen.len()).find(|&k| check(buffer, size, base + k as u64).is_ok()) {
        Some(k) => Err(EngineError::Protocol(format!(
            "message {} of {size} bytes arrived twice in one window",
            base + k as u64
        ))),
        None => check(buffer, size, base + expected as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Watchdog;

    #[test]
    fn verification_catches_a_stale_or_corrupted_payload() {
        let mut buffer = vec![0u8; 64];
        fill(&mut buffer, 64, 7);
        assert!(check(&buffer, 64, 7).is_ok());
        assert!(matches!(
            check(&buffer, 64, 8),
            Err(EngineError::Corrupted { iteration: 8, .. })
        ));
        buffer[10] ^= 0xff;
        assert!(matches!(
            check(&buffer, 64, 7),
            Err(EngineError::Corrupted { offset: 10, .. })
        ));
    }

    /// One op's buffers, as a transport hands them out; nothing moves.
    struct Buffers {
        tx: Vec<u8>,
        rx: Vec<u8>,
    }

    impl Transport for Buffers {
        fn max_message(&self) -> usize {
            self.rx.len()
        }
        fn depth(&self) -> usize {
            1
        }
        fn post_receive(
            &mut self,
            _: usize,
            _: usize,
            _: &mut Watchdog,
        ) -> Result<(), EngineError> {
            Ok(())
        }
        fn post_send(&mut self, _: usize, _: usize, _: &mut Watchdog) -> Result<(), EngineError> {
            Ok(())
        }
        fn wait_send(&mut self, _: usize, _: &mut Watchdog) -> Result<(), EngineError> {
            Ok(())
        }
        fn wait_sends(&mut self, _: &mut Watchdog) -> Result<(), EngineError> {
            Ok(())
        }
        fn wait_receive(&mut self, _: usize, _: &mut Watchdog) -> Result<(), EngineError> {
            Ok(())
        }
        fn send_buffer(&mut self, _: usize) -> Result<&mut [u8], EngineError> {
            Ok(&mut self.tx)
        }
        fn receive_buffer(&self, _: usize) -> Result<&[u8], EngineError> {
            Ok(&self.rx)
        }
    }

    #[test]
    fn the_responder_echoes_exactly_what_it_received_and_refuses_a_corrupted_payload() {
        let mut t = Buffers {
            tx: vec![0; 64],
            rx: vec![0; 64],
        };
        fill(&mut t.rx, 48, 9);
        echo_verified(&mut t, 48, 9).unwrap();
        assert_eq!(t.tx[..48], t.rx[..48]);
        assert!(check(&t.tx, 48, 9).is_ok());
        // Only the message's bytes are sent back; the rest of the buffer is untouched.
        assert!(t.tx[48..].iter().all(|&b| b == 0));

        t.tx.fill(0);
        t.rx[5] ^= 0xff;
        assert!(matches!(
            echo_verified(&mut t, 48, 9),
            Err(EngineError::Corrupted { offset: 5, .. })
        ));
        assert!(t.tx.iter().all(|&b| b == 0), "a bad payload is not echoed");
    }

    #[test]
    fn a_window_may_arrive_out_of_order_but_each_message_only_once() {
        let mut seen = vec![false; 4];
        let mut buffer = vec![0u8; 16];
        fill(&mut buffer, 16, 102);
        // Message 102 landed in slot 0 of the window starting at 100.
        assert!(check_in_window(&buffer, 16, 100, 0, &mut seen).is_ok());
        assert_eq!(seen, [false, false, true, false]);
        let err = check_in_window(&buffer, 16, 100, 1, &mut seen).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        fill(&mut buffer, 16, 99);
        assert!(matches!(
            check_in_window(&buffer, 16, 100, 1, &mut seen),
            Err(EngineError::Corrupted { iteration: 101, .. })
        ));
    }
}
