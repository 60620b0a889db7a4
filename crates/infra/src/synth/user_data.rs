//! Node user data: MIME multipart with a NodeConfig part (read by AL2023's nodeadm) and a shell
//! part that prepares the host before kubelet starts — huge pages, unlimited locked memory for
//! containerd, and the EFA user space (libfabric, Open MPI) from the pinned EFA installer, which
//! node-mode runs use on the host.
//!
//! The EKS AL2023 AMIs already run the EFA installer with `--minimal` (kernel module and rdma-core;
//! amazon-eks-ami templates/al2023/provisioners/install-efa.sh), so on them the script adds the user
//! space only and leaves the module alone; on an AMI without the module it runs the full installer.
//! The tarball is checked against AWS's signing key, pinned here by fingerprint, before it is
//! unpacked. Everything the script reads or writes on the host lies under `$RDMABENCH_ROOT`
//! (unset on a node), so the tests run the real script against a scratch tree.

use crate::config::StackConfig;

const BOUNDARY: &str = "==RDMABENCH==";

/// Where AWS publishes the EFA installer tarballs, their detached signatures (`.sig`) and the
/// signing key (`aws-efa-installer.key`); the EKS AMI fetches all three from here too.
const EFA_INSTALLER_HOST: &str = "https://efa-installer.amazonaws.com";

/// The fingerprint of AWS's EFA installer signing key ("Amazon EC2 EFA
/// <ec2-efa-maintainers@amazon.com>"), as AWS's EFA guide gives it under "Verify the GPG key's
/// fingerprint" (Amazon EC2 User Guide, "Get started with EFA and MPI", step "Install the EFA
/// software": https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-start.html#efa-start-enable;
/// the same steps in efa-start-nccl.html). A key downloaded with another fingerprint, or a
/// signature made by another key, stops the node setup before the tarball is unpacked.
const EFA_INSTALLER_KEY_FINGERPRINT: &str = "4E9091BCBB97A96B26B15E59A05480B1DD2D3CCC";

/// The NodeConfig part. `spec.kubelet.config` is a KubeletConfiguration that nodeadm merges with
/// its defaults, `spec.kubelet.flags` are appended to its kubelet flags (nodeadm API reference,
/// KubeletOptions: https://awslabs.github.io/amazon-eks-ami/nodeadm/doc/api/, source
/// nodeadm/doc/api.md; merging: nodeadm/doc/examples.md).
///
/// The static CPU manager gives the benchmark pods (Guaranteed QoS, whole CPUs) exclusive CPUs
/// instead of the shared pool, and the best-effort topology manager places a pod's CPUs on the
/// NUMA node of its devices where they fit on one, so node-mode and pod-mode ends get the same
/// kind of placement. Not single-numa-node (which issue 17 proposed): pod mode asks for every
/// EFA interface of the node, and on instance types whose EFA devices sit on both NUMA nodes
/// (c6in.32xlarge's two network cards, p5's 32 interfaces) single-numa-node would refuse such a
/// pod with TopologyAffinityError once the device plugin reports the devices' NUMA nodes.
/// best-effort admits it and aligns what it can; each end records its CPUs' and its EFA
/// device's NUMA node, so a misaligned run shows in its results. The static policy needs a CPU reservation
/// above zero, or the kubelet refuses to start ("The kubelet requires a CPU reservation greater
/// than zero be made using either --kube-reserved and/or --system-reserved or --reserved-cpus
/// when the static policy is enabled", https://kubernetes.io/docs/tasks/administer-cluster/cpu-management-policies/#static-policy-configuration):
/// one CPU of systemReserved provides it on every instance type, where reservedSystemCPUs would
/// have to name CPU ids that differ between types, and it leaves nodeadm's own kubeReserved
/// alone. The kubelet takes the reserved CPUs from the lowest physical core ids.
const NODE_CONFIG: &str = "\
---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    config:
      cpuManagerPolicy: static
      topologyManagerPolicy: best-effort
      systemReserved:
        cpu: \"1\"
    flags:
      - --node-labels=rdmabench.io/efa=true
";

/// The MIME document, as plain text (the launch template base64-encodes it).
pub(super) fn render(config: &StackConfig) -> String {
    let node_config = NODE_CONFIG;
    let script = script(config);
    format!(
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\n\n\
         --{BOUNDARY}\nContent-Type: application/node.eks.aws\n\n{node_config}\n\
         --{BOUNDARY}\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\n\n{script}\n\
         --{BOUNDARY}--\n"
    )
}

/// The shell part: bash, run once by cloud-init at first boot.
fn script(config: &StackConfig) -> String {
    let nodes = &config.nodes;
    let hugepages = nodes.hugepages_2mi;
    let version = &nodes.efa_installer_version;
    format!(
        r#"#!/bin/bash
# rdmabench node setup: runs once at first boot, before kubelet starts. Every path on the host is
# under $RDMABENCH_ROOT, which is unset on a node (rdmabench's tests point it at a scratch tree).
set -euo pipefail
root="${{RDMABENCH_ROOT:-}}"
exec >>"$root/var/log/rdmabench-node-setup.log" 2>&1
log() {{ echo "rdmabench-node-setup: $*"; }}

# Huge pages for EFA buffers, reserved before kubelet counts allocatable memory.
echo "vm.nr_hugepages = {hugepages}" >"$root/etc/sysctl.d/90-rdmabench-hugepages.conf"
sysctl -w vm.nr_hugepages={hugepages}

# EFA registers (pins) memory: containers need an unlimited memlock limit.
mkdir -p "$root/etc/systemd/system/containerd.service.d"
printf '[Service]\nLimitMEMLOCK=infinity\n' >"$root/etc/systemd/system/containerd.service.d/90-rdmabench-memlock.conf"
systemctl daemon-reload

# The EFA user space (libfabric, Open MPI, fabtests) from the EFA installer {version}. The EKS
# AL2023 AMI already installed the efa kernel module and rdma-core (its installer ran with
# --minimal): then the installer neither rebuilds the module nor rewrites the memlock limits.
# Without the module (another AMI) the full installer runs.
version="{version}"
host="{EFA_INSTALLER_HOST}"
fingerprint="{EFA_INSTALLER_KEY_FINGERPRINT}"
if [ -d "$root/sys/module/efa" ] || modinfo efa >/dev/null 2>&1; then
  installer_flags=(-y --skip-kmod --skip-limit-conf)
  log "efa kernel module present: installing the EFA $version user space only"
else
  installer_flags=(-y)
  log "no efa kernel module: running the full EFA $version installer"
fi

workdir=$(mktemp -d)
trap 'cd / && rm -rf "$workdir"' EXIT
cd "$workdir"
tarball="aws-efa-installer-$version.tar.gz"
for file in "$tarball" "$tarball.sig" aws-efa-installer.key; do
  curl --retry 5 --retry-delay 5 -fsSL -o "$file" "$host/$file"
done

# Nothing from the tarball runs unless AWS's key, pinned by fingerprint, signed it.
export GNUPGHOME="$workdir/gnupg"
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --import aws-efa-installer.key
key_fingerprints=$(gpg --batch --with-colons --fingerprint | awk -F: '$1 == "fpr" {{ print $10 }}')
if ! grep -qx "$fingerprint" <<<"$key_fingerprints"; then
  log "FATAL: $host/aws-efa-installer.key is not AWS's EFA key $fingerprint (it has: ${{key_fingerprints//$'\n'/ }}); not unpacking $tarball"
  exit 1
fi
if ! status=$(gpg --batch --status-fd 1 --verify "$tarball.sig" "$tarball"); then
  log "FATAL: $tarball has no good signature from AWS's EFA key $fingerprint; not unpacking it"
  exit 1
fi
signer=$(awk '$2 == "VALIDSIG" {{ print $NF }}' <<<"$status")
if [ "$signer" != "$fingerprint" ]; then
  log "FATAL: $tarball is signed by ${{signer:-no known key}}, not AWS's EFA key $fingerprint; not unpacking it"
  exit 1
fi
log "$tarball: good signature from AWS's EFA key $fingerprint"

tar -xzf "$tarball"
cd aws-efa-installer
./efa_installer.sh "${{installer_flags[@]}}"
log "EFA installer $version done"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    #[test]
    fn user_data_has_both_parts_and_the_configured_values() {
        let mut config = StackConfig::default();
        config.nodes.hugepages_2mi = 512;
        config.nodes.efa_installer_version = "1.50.0".into();
        let text = render(&config);
        assert!(text.contains("Content-Type: application/node.eks.aws"));
        assert!(text.contains("kind: NodeConfig"));
        // Exclusive CPUs and NUMA alignment for the benchmark pods, with the CPU reservation
        // without which a static-policy kubelet does not start.
        assert!(text.contains(
            "    config:\n      cpuManagerPolicy: static\n      topologyManagerPolicy: best-effort\n      systemReserved:\n        cpu: \"1\"\n"
        ));
        assert!(text.contains("Content-Type: text/x-shellscript"));
        assert!(text.contains("vm.nr_hugepages=512"));
        assert!(text.contains("LimitMEMLOCK=infinity"));
        assert!(text.contains("version=\"1.50.0\""));
        assert!(text.trim_end().ends_with(&format!("--{BOUNDARY}--")));
        assert_eq!(text.matches(&format!("--{BOUNDARY}\n")).count(), 2);
    }

    /// Stands for efa-installer.amazonaws.com: serves the files in $STUB_SERVED by name to
    /// `curl ... -o FILE URL`.
    const CURL: &str = r##"#!/bin/bash
echo "curl $*" >>"$STUB_CALLS"
while [ $# -gt 1 ]; do
  if [ "$1" = -o ]; then out=$2; shift; fi
  shift
done
cp "$STUB_SERVED/${1##*/}" "$out"
"##;

    /// Stands for GnuPG after importing a key file whose key has the fingerprint
    /// $STUB_KEY_FINGERPRINT, reporting the signature as made by the key $STUB_SIGNER — or, for
    /// STUB_SIGNER=bad, as a bad signature (a tampered tarball), exiting 1 as gpg does.
    const GPG: &str = r##"#!/bin/bash
echo "gpg $*" >>"$STUB_CALLS"
case " $* " in
  *" --fingerprint "*)
    echo "pub:-:4096:1:${STUB_KEY_FINGERPRINT: -16}:1595983813:::-:::scESC::::::23::0:"
    echo "fpr:::::::::$STUB_KEY_FINGERPRINT:" ;;
  *" --verify "*)
    if [ "$STUB_SIGNER" = bad ]; then
      echo "[GNUPG:] BADSIG ${STUB_KEY_FINGERPRINT: -16} Amazon EC2 EFA <ec2-efa-maintainers@amazon.com>"
      exit 1
    fi
    echo "[GNUPG:] GOODSIG ${STUB_SIGNER: -16} Amazon EC2 EFA <ec2-efa-maintainers@amazon.com>"
    echo "[GNUPG:] VALIDSIG $STUB_SIGNER 2026-10-22 1792627200 0 4 0 1 10 00 $STUB_SIGNER" ;;
esac
"##;

    /// Stands for kmod's modinfo: exits $STUB_MODINFO_STATUS (0 = an efa module is installed for
    /// the running kernel, though not loaded; 1 = none).
    const MODINFO: &str = r##"#!/bin/bash
echo "modinfo $*" >>"$STUB_CALLS"
exit "${STUB_MODINFO_STATUS:-1}"
"##;

    /// Stands for sysctl and systemctl, which change the running host: recorded, nothing done.
    const RECORD_ONLY: &str = r##"#!/bin/bash
echo "${0##*/} $*" >>"$STUB_CALLS"
"##;

    /// Stands for AWS's efa_installer.sh inside the tarball: records the flags it was run with.
    const INSTALLER: &str = r##"#!/bin/bash
echo "efa_installer.sh $*" >>"$STUB_CALLS"
"##;

    /// A scratch node: `root` stands for the host's file system (RDMABENCH_ROOT), `bin` holds the
    /// stub commands ahead of the machine's PATH, `served` the files AWS's download host serves.
    struct Node {
        dir: tempfile::TempDir,
    }

    impl Node {
        fn new() -> Node {
            let node = Node {
                dir: tempfile::tempdir().unwrap(),
            };
            for sub in [
                "root/var/log",
                "root/etc/sysctl.d",
                "bin",
                "served",
                "tmp",
                "src",
            ] {
                std::fs::create_dir_all(node.path(sub)).unwrap();
            }
            // tar is the real one, recorded on its way: the tests check it never runs on an
            // unverified tarball.
            let tar = on_path("tar").expect("tar on PATH");
            let tar_stub = format!(
                "#!/bin/bash\necho \"tar $*\" >>\"$STUB_CALLS\"\nexec {} \"$@\"\n",
                tar.display()
            );
            for (name, text) in [
                ("curl", CURL),
                ("gpg", GPG),
                ("modinfo", MODINFO),
                ("sysctl", RECORD_ONLY),
                ("systemctl", RECORD_ONLY),
                ("tar", tar_stub.as_str()),
            ] {
                executable(&node.path("bin").join(name), text);
            }
            // The release as AWS publishes it: the tarball with the installer, its detached
            // signature (content irrelevant: the stub gpg decides) and the signing key.
            let version = StackConfig::default().nodes.efa_installer_version;
            let tarball = format!("aws-efa-installer-{version}.tar.gz");
            executable(
                &node.path("src/aws-efa-installer/efa_installer.sh"),
                INSTALLER,
            );
            let packed = Command::new(&tar)
                .arg("-czf")
                .arg(node.path("served").join(&tarball))
                .arg("-C")
                .arg(node.path("src"))
                .arg("aws-efa-installer")
                .status()
                .unwrap();
            assert!(packed.success());
            let served = node.path("served");
            std::fs::write(served.join(format!("{tarball}.sig")), "signature").unwrap();
            std::fs::write(served.join("aws-efa-installer.key"), "public key").unwrap();
            node
        }

        fn path(&self, sub: &str) -> PathBuf {
            self.dir.path().join(sub)
        }

        /// Runs the node script rendered from the default configuration, with the stubs'
        /// settings in `env`.
        fn run(&self, env: &[(&str, &str)]) -> Output {
            let script = self.path("node-setup.sh");
            std::fs::write(&script, super::script(&StackConfig::default())).unwrap();
            let path = format!(
                "{}:{}",
                self.path("bin").display(),
                std::env::var("PATH").unwrap()
            );
            let mut command = Command::new("bash");
            command
                .arg(&script)
                .env("PATH", path)
                .env("RDMABENCH_ROOT", self.path("root"))
                .env("TMPDIR", self.path("tmp"))
                .env("STUB_CALLS", self.path("calls"))
                .env("STUB_SERVED", self.path("served"))
                .env("STUB_KEY_FINGERPRINT", EFA_INSTALLER_KEY_FINGERPRINT)
                .env("STUB_SIGNER", EFA_INSTALLER_KEY_FINGERPRINT);
            command.envs(env.iter().copied());
            let out = command.output().unwrap();
            let leftovers: Vec<_> = std::fs::read_dir(self.path("tmp")).unwrap().collect();
            assert!(leftovers.is_empty(), "work directory left: {leftovers:?}");
            out
        }

        /// The stubs' calls, one `name args` line each, in order.
        fn calls(&self) -> Vec<String> {
            std::fs::read_to_string(self.path("calls"))
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect()
        }

        fn log(&self) -> String {
            std::fs::read_to_string(self.path("root/var/log/rdmabench-node-setup.log")).unwrap()
        }

        fn installer_runs(&self) -> Vec<String> {
            self.calls()
                .into_iter()
                .filter(|c| c.starts_with("efa_installer.sh"))
                .collect()
        }
    }

    fn executable(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// The machine's `name` command, if it has one.
    fn on_path(name: &str) -> Option<PathBuf> {
        std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    }

    #[test]
    fn with_the_amis_efa_module_only_the_user_space_is_installed_from_a_verified_tarball() {
        let version = StackConfig::default().nodes.efa_installer_version;
        // The module loaded (the AMI's, with an EFA device attached), or installed but not loaded.
        let loaded = Node::new();
        std::fs::create_dir_all(loaded.path("root/sys/module/efa")).unwrap();
        let installed = Node::new();
        for (node, env) in [
            (&loaded, &[][..]),
            (&installed, &[("STUB_MODINFO_STATUS", "0")][..]),
        ] {
            let out = node.run(env);
            let log = node.log();
            assert!(out.status.success(), "{log}");
            assert_eq!(
                node.installer_runs(),
                ["efa_installer.sh -y --skip-kmod --skip-limit-conf"]
            );
            assert!(
                log.contains(&format!(
                    "efa kernel module present: installing the EFA {version} user space only"
                )),
                "{log}"
            );
            assert!(log.contains("good signature from AWS's EFA key"), "{log}");
            assert!(
                log.contains(&format!("EFA installer {version} done")),
                "{log}"
            );

            // The tarball, its signature and the key, all from AWS's host; verified, then unpacked.
            let calls = node.calls();
            let tarball = format!("{EFA_INSTALLER_HOST}/aws-efa-installer-{version}.tar.gz");
            for url in [
                tarball.clone(),
                format!("{tarball}.sig"),
                format!("{EFA_INSTALLER_HOST}/aws-efa-installer.key"),
            ] {
                assert!(
                    calls
                        .iter()
                        .any(|c| c.starts_with("curl ") && c.ends_with(&url)),
                    "{url} not fetched: {calls:?}"
                );
            }
            let at = |prefix: &str| calls.iter().position(|c| c.starts_with(prefix)).unwrap();
            assert!(
                at("gpg --batch --status-fd 1 --verify") < at("tar "),
                "{calls:?}"
            );
        }
        // The rest of the setup ran too: huge pages and containerd's memlock limit.
        let root = loaded.path("root");
        assert_eq!(
            std::fs::read_to_string(root.join("etc/sysctl.d/90-rdmabench-hugepages.conf")).unwrap(),
            "vm.nr_hugepages = 2048\n"
        );
        assert!(std::fs::read_to_string(
            root.join("etc/systemd/system/containerd.service.d/90-rdmabench-memlock.conf")
        )
        .unwrap()
        .contains("LimitMEMLOCK=infinity"));
        assert!(loaded
            .calls()
            .contains(&"sysctl -w vm.nr_hugepages=2048".to_string()));
    }

    #[test]
    fn without_an_efa_module_the_full_installer_runs() {
        let node = Node::new();
        let out = node.run(&[]);
        let log = node.log();
        assert!(out.status.success(), "{log}");
        assert_eq!(node.installer_runs(), ["efa_installer.sh -y"]);
        assert!(
            log.contains("no efa kernel module: running the full EFA"),
            "{log}"
        );
    }

    #[test]
    fn a_bad_signature_or_a_foreign_key_stops_the_setup_before_the_tarball_is_unpacked() {
        let foreign = "0123456789ABCDEF0123456789ABCDEF01234567";
        for (env, logged) in [
            // A tampered tarball.
            (
                [("STUB_SIGNER", "bad")],
                "has no good signature from AWS's EFA key",
            ),
            // A key that is not AWS's, served in its place.
            (
                [("STUB_KEY_FINGERPRINT", foreign)],
                "aws-efa-installer.key is not AWS's EFA key",
            ),
            // A good signature, but from another key than the pinned one.
            (
                [("STUB_SIGNER", foreign)],
                "is signed by 0123456789ABCDEF0123456789ABCDEF01234567, not AWS's EFA key",
            ),
        ] {
            let node = Node::new();
            let out = node.run(&env);
            let log = node.log();
            assert!(!out.status.success(), "{env:?}: {log}");
            assert!(log.contains("FATAL: "), "{log}");
            assert!(log.contains(logged), "{env:?}: {log}");
            assert!(log.contains(EFA_INSTALLER_KEY_FINGERPRINT), "{log}");
            let calls = node.calls();
            assert!(
                !calls
                    .iter()
                    .any(|c| c.starts_with("tar ") || c.starts_with("efa_installer.sh")),
                "{env:?}: unpacked or installed: {calls:?}"
            );
        }
    }

    #[test]
    fn the_node_script_passes_shellcheck() {
        let Some(shellcheck) = on_path("shellcheck") else {
            assert!(
                std::env::var_os("RDMABENCH_REQUIRE_SHELLCHECK").is_none(),
                "RDMABENCH_REQUIRE_SHELLCHECK is set but shellcheck is not on PATH"
            );
            eprintln!("SKIPPED: shellcheck is not installed (apt-get install shellcheck)");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("node-setup.sh");
        std::fs::write(&script, super::script(&StackConfig::default())).unwrap();
        let out = Command::new(shellcheck).arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "shellcheck findings:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
