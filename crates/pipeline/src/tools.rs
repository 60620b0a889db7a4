//! The reference tools rdmabench sets beside its own engine (fi_pingpong, perftest, OSU,
//! NetPIPE under Open MPI, IMB under Intel MPI): which of them this host has, their versions, and for a missing one
//! the package that provides it, so a suite can say what it skipped and why.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How long a version probe may run: they print and exit at once.
const PROBE_LIMIT: Duration = Duration::from_secs(5);
/// How often a probe is checked for having exited.
const PROBE_POLL: Duration = Duration::from_millis(10);

/// How a tool tells its version.
#[derive(Debug, Clone, Copy)]
enum VersionProbe {
    /// Run `program` (default: the tool) with `args` and take what follows `marker` on the
    /// first line that holds it.
    /// `libraries`: a directory relative to the tool's own (IMB-MPI1's "../lib", where Intel
    /// MPI's libmpi is) set as LD_LIBRARY_PATH, for a tool that cannot start without it.
    Line {
        program: Option<&'static str>,
        args: &'static [&'static str],
        marker: &'static str,
        libraries: Option<&'static str>,
    },
    /// The tool has no version option: the version of the package that installed it.
    Package,
    /// Built from source without a package (OSU in the rdmabench image): the `VERSION` file of
    /// its install prefix, the directory above the one it was found in; else as `Package`.
    PrefixFile,
}

/// A reference tool rdmabench knows.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    /// Executable name.
    pub name: &'static str,
    /// What it measures, in a few words.
    pub measures: &'static str,
    /// What provides it, for the "not installed" message.
    pub provided_by: &'static str,
    /// Why the cluster (eks) target does not run it, when it is not meant for the rdmabench
    /// image.
    pub not_on_eks: Option<&'static str>,
    version: VersionProbe,
}

const PERFTEST_VERSION: VersionProbe = VersionProbe::Line {
    program: None,
    args: &["--version"],
    marker: "Version: ",
    libraries: None,
};

const PERFTEST: &str = "perftest (Debian/Ubuntu package perftest; in the rdmabench image)";
const OSU: &str =
    "OSU micro-benchmarks (not packaged in Debian; built against Open MPI in the rdmabench image)";

/// Every reference tool, in the order `rdmabench tools` lists them.
pub const CATALOG: &[ToolSpec] = &[
    ToolSpec {
        name: "fi_pingpong",
        measures: "ping-pong latency over libfabric (the seed's numbers)",
        provided_by: "libfabric-bin (Debian/Ubuntu), fabtests (RPM), the EFA installer",
        not_on_eks: None,
        // fabtests carry libfabric's version; fi_info (same package) prints it.
        version: VersionProbe::Line {
            program: Some("fi_info"),
            args: &["--version"],
            marker: "fi_info: ",
            libraries: None,
        },
    },
    ToolSpec {
        name: "ib_send_lat",
        measures: "send latency (perftest)",
        provided_by: PERFTEST,
        not_on_eks: None,
        version: PERFTEST_VERSION,
    },
    ToolSpec {
        name: "ib_send_bw",
        measures: "send bandwidth (perftest)",
        provided_by: PERFTEST,
        not_on_eks: None,
        version: PERFTEST_VERSION,
    },
    ToolSpec {
        name: "ib_write_lat",
        measures: "RDMA write latency (perftest)",
        provided_by: PERFTEST,
        not_on_eks: None,
        version: PERFTEST_VERSION,
    },
    ToolSpec {
        name: "ib_write_bw",
        measures: "RDMA write bandwidth (perftest)",
        provided_by: PERFTEST,
        not_on_eks: None,
        version: PERFTEST_VERSION,
    },
    ToolSpec {
        name: "osu_latency",
        measures: "MPI ping-pong latency (OSU)",
        provided_by: OSU,
        not_on_eks: None,
        version: VersionProbe::PrefixFile,
    },
    ToolSpec {
        name: "osu_bw",
        measures: "MPI bandwidth (OSU)",
        provided_by: OSU,
        not_on_eks: None,
        version: VersionProbe::PrefixFile,
    },
    ToolSpec {
        name: "NPopenmpi",
        measures: "MPI ping-pong latency and bandwidth (NetPIPE; where OSU is absent)",
        provided_by: "netpipe-openmpi (Debian/Ubuntu)",
        not_on_eks: Some(
            "NetPIPE stands in for OSU where OSU is absent; the rdmabench image has OSU (osu_latency, osu_bw)",
        ),
        version: VersionProbe::Package,
    },
    ToolSpec {
        name: "mpirun",
        measures: "Open MPI's launcher, for the MPI tools",
        provided_by: "openmpi-bin (Debian/Ubuntu; in the rdmabench image)",
        not_on_eks: None,
        version: VersionProbe::Line {
            program: None,
            args: &["--version"],
            marker: "mpirun (Open MPI) ",
            libraries: None,
        },
    },
    ToolSpec {
        name: "IMB-MPI1",
        measures: "MPI ping-pong latency (IMB-PingPong) and bandwidth (IMB-Uniband), Intel MPI Benchmarks",
        provided_by: INTEL_MPI,
        not_on_eks: Some(INTEL_MPI_NOT_ON_EKS),
        // `-help` prints "Intel(R) MPI Benchmarks 2021.10" first (and exits 1).
        version: VersionProbe::Line {
            program: None,
            args: &["-help"],
            marker: "Intel(R) MPI Benchmarks ",
            libraries: Some(INTEL_MPI_LIBRARIES),
        },
    },
    ToolSpec {
        name: "mpiexec.hydra",
        measures: "Intel MPI's launcher, for IMB",
        provided_by: INTEL_MPI,
        not_on_eks: Some(INTEL_MPI_NOT_ON_EKS),
        // "Intel(R) MPI Library for Linux* OS, Version 2021.17 Build 20251215 (id: 2ac2f63)"
        version: VersionProbe::Line {
            program: None,
            args: &["--version"],
            marker: "Version ",
            libraries: None,
        },
    },
];

/// What provides IMB-MPI1 and mpiexec.hydra. Only Intel's own names: its `mpirun` and `mpiexec`
/// must come after Open MPI's on PATH.
const INTEL_MPI: &str = "impi-rt (PyPI), Intel MPI";
/// Why the cluster target skips the Intel MPI tools.
const INTEL_MPI_NOT_ON_EKS: &str =
    "Intel MPI (IMB-MPI1, mpiexec.hydra) is not in the rdmabench image; IMB runs on the local target";
/// Where Intel MPI's libraries are, from the directory of its executables (the pip wheel's and
/// the oneAPI layout: bin/ beside lib/).
pub const INTEL_MPI_LIBRARIES: &str = "../lib";

/// The suite tools that run IMB-MPI1 (one of its benchmarks each).
pub const IMB_TOOLS: &[&str] = &["IMB-PingPong", "IMB-Uniband"];

/// The executable a suite's tool runs: IMB-MPI1 for the IMB benchmarks, else the tool itself,
/// so its presence and version come from the catalogue entry of what is really run.
pub fn executable(tool: &str) -> &str {
    if IMB_TOOLS.contains(&tool) {
        "IMB-MPI1"
    } else {
        tool
    }
}

/// Whether the tool has a warm-up option (OSU's -x is the only one), for the suite and
/// `rdmabench tool` to refuse a warm-up it would ignore.
pub fn has_warmup(tool: &str) -> bool {
    tool.starts_with("osu_")
}

/// Whether the tool checks the data while it measures (fi_pingpong's -c is the only one).
pub fn has_verify(tool: &str) -> bool {
    tool == "fi_pingpong"
}

/// The catalogue's entry for a tool.
pub fn spec(name: &str) -> Option<&'static ToolSpec> {
    CATALOG.iter().find(|spec| spec.name == name)
}

/// Whether and where a tool exists here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolStatus {
    /// Executable name.
    pub name: &'static str,
    /// What it measures.
    pub measures: &'static str,
    /// Where it was found on PATH; None when missing.
    pub path: Option<PathBuf>,
    /// Its version, when it or its package says.
    pub version: Option<String>,
    /// Where the version came from: "tool" (its own output or install prefix) or "package"
    /// (dpkg).
    pub version_source: Option<&'static str>,
    /// What provides it (shown when it is missing).
    pub provided_by: &'static str,
}

/// The first executable called `name` in the directories of `path` (a PATH value).
fn find_in(path: &OsString, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs `program args` with PATH set to `path` for at most PROBE_LIMIT: whether it exited 0,
/// and its stdout then stderr; None when it could not run or did not finish.
fn probe(program: &Path, args: &[&str], path: &OsString) -> Option<(bool, String)> {
    probe_with(program, args, path, None)
}

/// `probe` with LD_LIBRARY_PATH set to `libraries` when given.
fn probe_with(
    program: &Path,
    args: &[&str],
    path: &OsString,
    libraries: Option<&Path>,
) -> Option<(bool, String)> {
    let mut command = Command::new(program);
    if let Some(libraries) = libraries {
        command.env("LD_LIBRARY_PATH", libraries);
    }
    let mut child = command
        .args(args)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + PROBE_LIMIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(PROBE_POLL),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut text);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    Some((status.success(), text))
}

/// The rest of the first line of `text` that holds `marker`, after it, trimmed (tools may
/// print their own path before it, as fi_info does).
fn after_marker(text: &str, marker: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.find(marker).map(|at| &line[at + marker.len()..]))
        .map(|rest| rest.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The version of the Debian package that installed `file`, when dpkg knows it.
fn package_version(file: &Path, path: &OsString) -> Option<String> {
    let dpkg = find_in(path, "dpkg-query")?;
    let (owned, owner) = probe(&dpkg, &["-S", &file.to_string_lossy()], path)?;
    if !owned {
        return None;
    }
    // "package[:arch]: /usr/bin/tool"
    let package = owner.lines().next()?.split(':').next()?.trim().to_string();
    let (known, version) = probe(&dpkg, &["-W", "-f=${Version}", &package], path)?;
    let version = version.trim();
    (known && !version.is_empty()).then(|| format!("{version} ({package})"))
}

fn status(spec: &ToolSpec, path: &OsString) -> ToolStatus {
    let found = find_in(path, spec.name);
    let (version, version_source) = match &found {
        None => (None, None),
        Some(file) => {
            let from_tool = match spec.version {
                VersionProbe::Line {
                    program,
                    args,
                    marker,
                    libraries,
                } => {
                    let libraries = libraries.and_then(|dir| Some(file.parent()?.join(dir)));
                    let program = program.map_or_else(|| Some(file.clone()), |p| find_in(path, p));
                    program
                        .and_then(|p| probe_with(&p, args, path, libraries.as_deref()))
                        .and_then(|(_, text)| after_marker(&text, marker))
                }
                VersionProbe::Package => None,
                VersionProbe::PrefixFile => file
                    .parent()
                    .and_then(Path::parent)
                    .and_then(|prefix| std::fs::read_to_string(prefix.join("VERSION")).ok())
                    .map(|text| text.trim().to_string())
                    .filter(|v| !v.is_empty()),
            };
            match from_tool {
                Some(v) => (Some(v), Some("tool")),
                None => match package_version(file, path) {
                    Some(v) => (Some(v), Some("package")),
                    None => (None, None),
                },
            }
        }
    };
    ToolStatus {
        name: spec.name,
        measures: spec.measures,
        path: found,
        version,
        version_source,
        provided_by: spec.provided_by,
    }
}

/// What `program --help` prints (stdout then stderr; perftest exits non-zero after it), within
/// the probe limit; None when it could not run or hung.
pub fn help_text(program: &Path, path: &OsString) -> Option<String> {
    probe(program, &["--help"], path).map(|(_, text)| text)
}

/// Every catalogued tool as found on `path` (a PATH value), in catalogue order.
pub fn discover(path: &OsString) -> Vec<ToolStatus> {
    CATALOG.iter().map(|spec| status(spec, path)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_the_text_after_the_tools_own_marker() {
        assert_eq!(
            after_marker("/usr/bin/fi_info: 1.17.0\nlibfabric: 1.17.0\n", "fi_info: ").as_deref(),
            Some("1.17.0")
        );
        assert_eq!(
            after_marker(
                "mpirun (Open MPI) 4.1.4\n\nReport bugs",
                "mpirun (Open MPI) "
            )
            .as_deref(),
            Some("4.1.4")
        );
        assert_eq!(
            after_marker(
                "Intel(R) MPI Library for Linux* OS, Version 2021.17 Build 20251215 (id: 2ac2f63)\n",
                "Version "
            )
            .as_deref(),
            Some("2021.17 Build 20251215 (id: 2ac2f63)")
        );
        assert_eq!(
            after_marker(
                "Intel(R) MPI Benchmarks 2021.10\nUsage: IMB-MPI1 [-help]",
                "Intel(R) MPI Benchmarks "
            )
            .as_deref(),
            Some("2021.10")
        );
        assert_eq!(executable("IMB-Uniband"), "IMB-MPI1");
        assert_eq!(executable("osu_bw"), "osu_bw");
        assert_eq!(after_marker("Version: \n", "Version: "), None);
        assert_eq!(after_marker("usage: ...", "Version: "), None);
    }
}
