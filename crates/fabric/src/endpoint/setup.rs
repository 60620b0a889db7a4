//! Opening an endpoint (fabric, domain, queues, address vector, endpoint, buffers and their
//! registration, in that order) and exchanging fabric addresses with the peer.

use super::*;

impl Endpoint {
    /// Opens fabric, domain, completion queue, address vector and endpoint for `info`, and
    /// registers the buffers when the provider requires local registration (or when forced).
    pub fn open(info: &Info, options: EndpointOptions) -> Result<Endpoint, FabricError> {
        let lib = Arc::clone(info.library());
        let view = info.view();
        let info_ptr = info.as_ptr();
        let max_msg_size = view.max_msg_size();
        if options.depth == 0 {
            return Err(FabricError::Usage(
                "an endpoint needs at least one operation",
            ));
        }
        if options.buffer_size > max_msg_size {
            return Err(FabricError::MessageTooLarge {
                len: options.buffer_size,
                limit: max_msg_size,
                what: "the provider's max_msg_size",
            });
        }

        let mut fabric_ptr = std::ptr::null_mut();
        // SAFETY: info_ptr is a live fi_info whose fabric_attr libfabric allocated.
        let ret = unsafe {
            (lib.fabric)(
                (*info_ptr).fabric_attr,
                &mut fabric_ptr,
                std::ptr::null_mut(),
            )
        };
        lib.check("fi_fabric", ret as isize)?;
        let fabric = Owned::new(fabric_ptr, "fabric")?;

        let mut domain_ptr = std::ptr::null_mut();
        // SAFETY: fabric is live; fi_domain is fabric->ops->domain.
        let ret = unsafe {
            ((*(*fabric.as_ptr()).ops).domain)(
                fabric.as_ptr(),
                info_ptr,
                &mut domain_ptr,
                std::ptr::null_mut(),
            )
        };
        lib.check("fi_domain", ret as isize)?;
        let domain = Owned::new(domain_ptr, "domain")?;

        // Separate send and receive queues, as fi_pingpong has: a receive poll never has to
        // step over send completions.
        let format = if options.rma {
            ffi::FI_CQ_FORMAT_DATA
        } else {
            ffi::FI_CQ_FORMAT_CONTEXT
        };
        let tx_cq = open_cq(&lib, &domain, options.completion, format)
            .map_err(|e| wait_refused(e, &lib, &view, options.completion))?;
        let rx_cq = open_cq(&lib, &domain, options.completion, format)
            .map_err(|e| wait_refused(e, &lib, &view, options.completion))?;

        let mut av_attr = ffi::FiAvAttr {
            type_: ffi::FI_AV_UNSPEC,
            rx_ctx_bits: 0,
            count: 1,
            ep_per_node: 0,
            name: std::ptr::null(),
            map_addr: std::ptr::null_mut(),
            flags: 0,
        };
        let mut av_ptr = std::ptr::null_mut();
        // SAFETY: domain is live; fi_av_open is domain->ops->av_open.
        let ret = unsafe {
            ((*(*domain.as_ptr()).ops).av_open)(
                domain.as_ptr(),
                &mut av_attr,
                &mut av_ptr,
                std::ptr::null_mut(),
            )
        };
        lib.check("fi_av_open", ret as isize)?;
        let av = Owned::new(av_ptr, "address vector")?;

        let mut ep_ptr = std::ptr::null_mut();
        // SAFETY: domain and info are live; fi_endpoint is domain->ops->endpoint.
        let ret = unsafe {
            ((*(*domain.as_ptr()).ops).endpoint)(
                domain.as_ptr(),
                info_ptr,
                &mut ep_ptr,
                std::ptr::null_mut(),
            )
        };
        lib.check("fi_endpoint", ret as isize)?;
        let ep = Owned::new(ep_ptr, "endpoint")?;
        if options.require_device_rdma {
            // Must precede fi_enable: efa decides its RMA protocol when the endpoint is enabled.
            setopt_bool(&ep, ffi::FI_OPT_EFA_USE_DEVICE_RDMA, true).map_err(|code| {
                FabricError::DeviceRdmaRefused {
                    provider: view.provider(),
                    api_version: lib.api_version(),
                    code,
                    message: lib.strerror(code),
                }
            })?;
        }

        // SAFETY: ep, both queues and av are live; fi_ep_bind is ep->fid.ops->bind and fi_enable is
        // ep->fid.ops->control(FI_ENABLE).
        unsafe {
            let ops = (*ep.fid()).ops;
            let ret = ((*ops).bind)(ep.fid(), tx_cq.fid(), ffi::FI_SEND);
            lib.check("fi_ep_bind(send queue)", ret as isize)?;
            let ret = ((*ops).bind)(ep.fid(), rx_cq.fid(), ffi::FI_RECV);
            lib.check("fi_ep_bind(receive queue)", ret as isize)?;
            let ret = ((*ops).bind)(ep.fid(), av.fid(), 0);
            lib.check("fi_ep_bind(av)", ret as isize)?;
            let ret = ((*ops).control)(ep.fid(), ffi::FI_ENABLE, std::ptr::null_mut());
            lib.check("fi_enable", ret as isize)?;
        }
        // Send/recv can be limited below ep_attr.max_msg_size (efa-direct: the device MTU, while
        // max_msg_size is its RMA limit when FI_RMA was asked for); libfabric 1.22+ says so
        // through FI_OPT_MAX_MSG_SIZE, and older libraries or providers without it answer
        // -FI_ENOPROTOOPT.
        let send_limit = getopt::<usize>(&lib, &ep, ffi::FI_OPT_MAX_MSG_SIZE)?
            .map_or(max_msg_size, |limit| limit.min(max_msg_size));
        if !options.rma && options.buffer_size > send_limit {
            return Err(FabricError::MessageTooLarge {
                len: options.buffer_size,
                limit: send_limit,
                what: "the provider's send/recv limit, fi_getopt FI_OPT_MAX_MSG_SIZE",
            });
        }
        let max_msg_size = if options.rma {
            max_msg_size
        } else {
            send_limit
        };

        let slots = if options.separate_buffers {
            options.depth
        } else {
            1
        };
        let total = options
            .buffer_size
            .checked_mul(slots)
            .ok_or(FabricError::Usage("buffer size overflows"))?;
        let tx = AlignedBuffer::new(total)?;
        let rx = AlignedBuffer::new(total)?;
        let mr_mode = view.mr_mode();
        // RMA needs registrations whatever FI_MR_LOCAL says: the peer addresses our memory by key.
        let rma_access = if options.rma {
            ffi::FI_READ | ffi::FI_WRITE | ffi::FI_REMOTE_READ | ffi::FI_REMOTE_WRITE
        } else {
            0
        };
        let mrs = if options.rma || options.force_mr_local || mr_mode & ffi::FI_MR_LOCAL != 0 {
            let prov_key = mr_mode & ffi::FI_MR_PROV_KEY != 0;
            Some((
                register(
                    &lib,
                    &domain,
                    &tx,
                    ffi::FI_SEND | rma_access,
                    if prov_key { 0 } else { 1 },
                )?,
                register(
                    &lib,
                    &domain,
                    &rx,
                    ffi::FI_RECV | rma_access,
                    if prov_key { 0 } else { 2 },
                )?,
            ))
        } else {
            None
        };

        Ok(Endpoint {
            ep,
            mrs,
            av,
            tx_cq,
            rx_cq,
            _domain: domain,
            _fabric: fabric,
            tx,
            rx,
            tx_contexts: zeroed_contexts(options.depth),
            rx_contexts: zeroed_contexts(options.depth),
            tx_pending: vec![false; options.depth],
            sends_in_flight: 0,
            rx_state: vec![ReceiveState::Idle; options.depth],
            peer: None,
            peer_memory: None,
            remote_writes: 0,
            context_entries: [FiCqEntry {
                op_context: std::ptr::null_mut(),
            }; CQ_BATCH],
            data_entries: [FiCqDataEntry {
                op_context: std::ptr::null_mut(),
                flags: 0,
                len: 0,
                buf: std::ptr::null_mut(),
                data: 0,
            }; CQ_BATCH],
            virt_addr: mr_mode & ffi::FI_MR_VIRT_ADDR != 0,
            inject_size: view.inject_size(),
            max_msg_size,
            options,
            lib,
        })
    }

    /// This endpoint's fabric address, to hand to the peer out of band.
    pub fn address(&self) -> Result<Vec<u8>, FabricError> {
        let mut len: usize = 0;
        let getname = self.cm_getname();
        // SAFETY: fi_getname with a zero-length buffer reports the needed size (-FI_ETOOSMALL).
        let _ = unsafe { getname(self.ep.fid(), std::ptr::null_mut(), &mut len) };
        if len == 0 {
            len = 256;
        }
        let mut addr = vec![0u8; len];
        // SAFETY: addr has len writable bytes; getname writes at most len and updates len.
        let ret = unsafe { getname(self.ep.fid(), addr.as_mut_ptr().cast(), &mut len) };
        self.lib.check("fi_getname", ret as isize)?;
        addr.truncate(len);
        Ok(addr)
    }

    pub(super) fn cm_getname(
        &self,
    ) -> unsafe extern "C" fn(*mut Fid, *mut c_void, *mut usize) -> i32 {
        // SAFETY: ep is live and every RDM endpoint has cm ops (fi_getname lives there).
        unsafe { (*(*self.ep.as_ptr()).cm).getname }
    }

    /// Inserts the peer's address (from its `address()`) so messages can be sent to it.
    pub fn insert_peer(&mut self, address: &[u8]) -> Result<(), FabricError> {
        let mut fi_addr: FiAddr = ffi::FI_ADDR_UNSPEC;
        // SAFETY: av is live; address holds one raw address in the provider's format, as
        // produced by the peer's fi_getname.
        let ret = unsafe {
            ((*(*self.av.as_ptr()).ops).insert)(
                self.av.as_ptr(),
                address.as_ptr().cast(),
                1,
                &mut fi_addr,
                0,
                std::ptr::null_mut(),
            )
        };
        // A negative return is an error code; otherwise it is how many addresses went in.
        self.lib.check("fi_av_insert", ret as isize)?;
        if ret != 1 {
            return Err(FabricError::AddressNotInserted {
                inserted: ret,
                address: describe_address(address),
            });
        }
        self.peer = Some(fi_addr);
        Ok(())
    }
}

/// A raw endpoint address for people: its bytes in hex, and for a sockaddr_in (what the IP
/// providers use) the IPv4 address and port it holds.
fn describe_address(address: &[u8]) -> String {
    let hex: String = address.iter().map(|b| format!("{b:02x}")).collect();
    match address {
        [f0, f1, p0, p1, a, b, c, d, ..]
            if address.len() == 16 && u16::from_ne_bytes([*f0, *f1]) == libc::AF_INET as u16 =>
        {
            format!(
                "{a}.{b}.{c}.{d}:{} (0x{hex})",
                u16::from_be_bytes([*p0, *p1])
            )
        }
        _ => format!("0x{hex}"),
    }
}

fn zeroed_contexts(depth: usize) -> Box<[FiContext2]> {
    (0..depth)
        .map(|_| FiContext2 {
            internal: [std::ptr::null_mut(); 8],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::Query;

    /// A sockaddr_in for 127.0.0.1 with `port`, as the IP providers' fi_getname writes it.
    fn sockaddr_in(port: u16) -> Vec<u8> {
        let mut address = vec![0u8; 16];
        address[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        address[2..4].copy_from_slice(&port.to_be_bytes());
        address[4..8].copy_from_slice(&[127, 0, 0, 1]);
        address
    }

    #[test]
    fn addresses_are_shown_as_bytes_and_ipv4_addresses_also_as_host_and_port() {
        assert_eq!(
            describe_address(&sockaddr_in(47592)),
            "127.0.0.1:47592 (0x0200b9e87f0000010000000000000000)"
        );
        assert_eq!(describe_address(&[0xfe, 0x01]), "0xfe01");
    }

    /// libfabric's IP address vectors count a port-0 address as not inserted (fi_av_insert
    /// returns 0, no error code): the error says so instead of inventing one.
    #[test]
    fn an_address_the_vector_refuses_is_reported_as_such_with_the_address() {
        let Some(lib) = Library::load_or_skip().map(Arc::new) else {
            return;
        };
        let list = lib
            .getinfo(&Query {
                provider: Some("tcp".into()),
                api: MessageApi::Msg,
                node: Some("127.0.0.1".into()),
                rma: false,
            })
            .unwrap();
        let entry = list.iter().next().expect("the tcp provider on 127.0.0.1");
        let info = list.duplicate(entry).unwrap();
        let mut endpoint = Endpoint::open(
            &info,
            EndpointOptions {
                buffer_size: 64,
                depth: 1,
                separate_buffers: false,
                completion: Completion::BusyPoll,
                force_mr_local: false,
                api: MessageApi::Msg,
                rma: false,
                require_device_rdma: false,
                inject_at_inject_size: false,
            },
        )
        .unwrap();
        let err = endpoint.insert_peer(&sockaddr_in(0)).unwrap_err();
        assert!(
            matches!(err, FabricError::AddressNotInserted { inserted: 0, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "fi_av_insert inserted 0 of 1 addresses: the address vector refused the peer's address \
             127.0.0.1:0 (0x020000007f0000010000000000000000)"
        );
    }
}
