//! Suite files: which tests `rdmabench run` measures, with which sizes, counts and modes.
//! The default suite (suites/seed.toml, embedded) reproduces the seed project's measurement.
//! Every field is checked before anything runs, so a typo fails in a second, not after the
//! first test has taken ten minutes.

use serde::Deserialize;

use rdmabench_stats::{parse_count, parse_duration, parse_percent, parse_size_list};

use crate::tools;

/// The default suite's text, also the commented example users copy.
pub const SEED_SUITE: &str = include_str!("../suites/seed.toml");
/// rdmabench's ping-pong beside the reference tools (`--suite reference`).
pub const REFERENCE_SUITE: &str = include_str!("../suites/reference.toml");

/// The suites built in, by the name `--suite` takes when no such file exists.
pub const EMBEDDED_SUITES: &[(&str, &str)] =
    &[("seed", SEED_SUITE), ("reference", REFERENCE_SUITE)];

/// The text of the built-in suite `name`, if there is one.
pub fn embedded_suite(name: &str) -> Option<&'static str> {
    EMBEDDED_SUITES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// A suite that cannot run; each message names the test, the field and what to write.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SuiteError {
    /// Not TOML, or unknown or mistyped fields.
    #[error("{path}: {message}")]
    Parse {
        /// The file read.
        path: String,
        /// What the TOML parser said.
        message: String,
    },
    /// A field's value cannot work.
    #[error("{path}: test '{test}': {field} = {value}: {problem}")]
    Invalid {
        /// The file read.
        path: String,
        /// Name of the test.
        test: String,
        /// Field name.
        field: &'static str,
        /// The value as written.
        value: String,
        /// Why, and what to write instead.
        problem: String,
    },
    /// No tests, or two with one name.
    #[error("{path}: {problem}")]
    Shape {
        /// The file read.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// Where a suite runs, which decides defaults such as the provider and iteration count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Two "hosts" on this machine.
    Local,
    /// The stack's EKS cluster, node mode and pod mode.
    Eks,
}

impl Target {
    /// The name users type and results record.
    pub fn name(self) -> &'static str {
        match self {
            Target::Local => "local",
            Target::Eks => "eks",
        }
    }

    /// Iterations per size when a test sets none: under a minute for the seed suite on a
    /// small machine locally (23 s idle on 2 cores); the seed's own 1m on EFA nodes.
    pub fn default_iterations(self) -> &'static str {
        match self {
            Target::Local => "100k",
            Target::Eks => "1m",
        }
    }
}

/// One test of a suite, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// Unique name; names the results files.
    pub name: String,
    /// What to measure.
    pub kind: String,
    /// Message sizes, as `pingpong --sizes` takes them ("seed", "sweep", "4,1K,64KiB").
    #[serde(default = "default_sizes")]
    pub sizes: String,
    /// Timed round trips per size; None = the target's default.
    #[serde(default)]
    pub iterations: Option<String>,
    /// Time per size instead of a count.
    #[serde(default)]
    pub duration: Option<String>,
    /// Latency tests: measure each size until the 95 % interval of its mean is
    /// within +-this ("1%"); iterations or duration is then the ceiling.
    #[serde(default)]
    pub precision: Option<String>,
    /// Untimed round trips per size.
    #[serde(default)]
    pub warmup: Option<String>,
    /// "fabric" or "socket".
    #[serde(default = "default_transport")]
    pub transport: String,
    /// "default" or a provider name.
    #[serde(default = "default_provider")]
    pub provider: String,
    /// "msg" or "tagged".
    #[serde(default = "default_api")]
    pub api: String,
    /// Which of the efa provider's fabrics: "auto", "efa" or "efa-direct" (fi_pingpong: -f).
    #[serde(default)]
    pub fabric: Option<String>,
    /// efa: fail unless the provider uses device RDMA (rdmabench's tests only).
    #[serde(default)]
    pub require_device_rdma: bool,
    /// Check every payload.
    #[serde(default)]
    pub verify: bool,
    /// bw: messages in flight per window [default: bw's 64].
    #[serde(default)]
    pub window: Option<u64>,
    /// bw: both ends send at once.
    #[serde(default)]
    pub bidirectional: bool,
    /// bw: whose loop, "osu" (default), "fabtests" or "perftest" (`bw --method`).
    #[serde(default)]
    pub method: Option<String>,
    /// rma: "write" or "read".
    #[serde(default)]
    pub op: Option<String>,
    /// rma: bandwidth with a window in flight instead of latency.
    #[serde(default)]
    pub bw: bool,
    /// tool: which reference tool ("fi_pingpong", "IMB-PingPong" ...).
    #[serde(default)]
    pub tool: Option<String>,
    /// eks: "node" and/or "pod".
    #[serde(default = "default_modes")]
    pub modes: Vec<String>,
}

fn default_sizes() -> String {
    "seed".into()
}
fn default_transport() -> String {
    "fabric".into()
}
fn default_provider() -> String {
    "default".into()
}
fn default_api() -> String {
    "msg".into()
}
fn default_modes() -> Vec<String> {
    vec!["node".into(), "pod".into()]
}

/// A reference tool run, as a suite test describes it (texts as written; the runner parses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPlan {
    /// The tool ("fi_pingpong").
    pub tool: String,
    /// Core provider name.
    pub provider: String,
    /// Tagged messages.
    pub tagged: bool,
    /// Sizes as `--sizes` takes them, or "sweep".
    pub sizes: String,
    /// Round trips per size (k, m suffixes).
    pub iterations: String,
    /// The tool's own data check.
    pub verify: bool,
    /// Which of efa's fabrics (fi_pingpong -f), when the test names one.
    pub fabric: Option<String>,
    /// Untimed repeats first, for the tools that have them (OSU's -x).
    pub warmup: Option<String>,
}

/// A suite file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Shown in progress and recorded with the results.
    pub name: String,
    /// The tests, run in this order.
    #[serde(rename = "test", default)]
    pub tests: Vec<TestSpec>,
}

const KINDS: &[&str] = &["pingpong", "bw", "rma", "tool"];
/// Reference tools a suite can run so far.
const SUITE_TOOLS: &[&str] = &[
    "fi_pingpong",
    "ib_send_lat",
    "ib_send_bw",
    "ib_write_lat",
    "ib_write_bw",
    "osu_latency",
    "osu_bw",
    "NPopenmpi",
    "IMB-PingPong",
    "IMB-Uniband",
];
const RMA_OPS: &[&str] = &["write", "read"];
const BW_METHODS: &[&str] = &["osu", "fabtests", "perftest"];
const TRANSPORTS: &[&str] = &["fabric", "socket"];
const PROVIDERS: &[&str] = &["default", "efa", "verbs", "tcp", "net", "shm", "udp"];
const APIS: &[&str] = &["msg", "tagged"];
const MODES: &[&str] = &["node", "pod"];
const FABRICS: &[&str] = &["auto", "efa", "efa-direct"];

impl Suite {
    /// The suite `--suite` names: the file at `path`, else the built-in suite of that name
    /// (seed, reference); without a path the default (seed) suite. Returns it with its text,
    /// which a run keeps beside its results so it can be repeated exactly.
    pub fn load(path: Option<&std::path::Path>) -> Result<(Suite, String), crate::PipelineError> {
        let Some(path) = path else {
            return Ok((
                Suite::from_toml(SEED_SUITE, "the default suite")?,
                SEED_SUITE.into(),
            ));
        };
        if !path.exists() {
            if let Some(text) = path.to_str().and_then(embedded_suite) {
                let name = format!("the built-in suite {}", path.display());
                return Ok((Suite::from_toml(text, &name)?, text.into()));
            }
        }
        let names: Vec<&str> = EMBEDDED_SUITES.iter().map(|(n, _)| *n).collect();
        let text = std::fs::read_to_string(path).map_err(crate::PipelineError::io(format!(
            "reading suite file {} (built-in suites: {})",
            path.display(),
            names.join(", ")
        )))?;
        Ok((Suite::from_toml(&text, &path.display().to_string())?, text))
    }

    /// Parses and checks a suite; `path` names it in messages.
    pub fn from_toml(text: &str, path: &str) -> Result<Suite, SuiteError> {
        let suite: Suite = toml::from_str(text).map_err(|e| SuiteError::Parse {
            path: path.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        suite.check(path)?;
        Ok(suite)
    }

    fn check(&self, path: &str) -> Result<(), SuiteError> {
        let shape = |problem: String| SuiteError::Shape {
            path: path.to_string(),
            problem,
        };
        if self.tests.is_empty() {
            return Err(shape(
                "the suite has no tests: add a [[test]] table (see `rdmabench run --print-suite`)"
                    .into(),
            ));
        }
        for (i, test) in self.tests.iter().enumerate() {
            if self.tests[..i].iter().any(|t| t.name == test.name) {
                return Err(shape(format!(
                    "two tests are named '{}': names must be unique (they name the results files)",
                    test.name
                )));
            }
            test.check(path)?;
        }
        Ok(())
    }
}

fn one_of(value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(format!("use one of {}", allowed.join(", ")))
    }
}

impl TestSpec {
    fn check(&self, path: &str) -> Result<(), SuiteError> {
        let invalid = |field: &'static str, value: &str, problem: String| SuiteError::Invalid {
            path: path.to_string(),
            test: self.name.clone(),
            field,
            value: format!("{value:?}"),
            problem,
        };
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 40
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            return Err(invalid(
                "name",
                &self.name,
                "use 1-40 lowercase letters, digits and '-' (it names files)".into(),
            ));
        }
        one_of(&self.kind, KINDS).map_err(|p| invalid("kind", &self.kind, p))?;
        one_of(&self.transport, TRANSPORTS)
            .map_err(|p| invalid("transport", &self.transport, p))?;
        one_of(&self.provider, PROVIDERS).map_err(|p| invalid("provider", &self.provider, p))?;
        one_of(&self.api, APIS).map_err(|p| invalid("api", &self.api, p))?;
        if let Some(fabric) = &self.fabric {
            one_of(fabric, FABRICS).map_err(|p| invalid("fabric", fabric, p))?;
            if !matches!(self.provider.as_str(), "default" | "efa") || self.transport == "socket" {
                return Err(invalid(
                    "fabric",
                    fabric,
                    "a fabric chooses between the efa provider's two (efa, efa-direct): set provider = \"efa\" or remove the field".into(),
                ));
            }
            if fabric == "efa-direct" && self.api == "tagged" {
                return Err(invalid(
                    "fabric",
                    fabric,
                    "efa-direct has no tagged API: use api = \"msg\" or fabric = \"efa\"".into(),
                ));
            }
        }
        if self.require_device_rdma
            && (!matches!(self.provider.as_str(), "default" | "efa") || self.transport == "socket")
        {
            return Err(invalid(
                "require_device_rdma",
                "true",
                "device RDMA is an efa provider option: set provider = \"efa\" or remove the field"
                    .into(),
            ));
        }
        if self.transport == "socket" && self.provider != "default" {
            return Err(invalid(
                "provider",
                &self.provider,
                "a socket test has no provider: remove the field or set transport = \"fabric\""
                    .into(),
            ));
        }
        if self.sizes != "sweep" {
            parse_size_list(&self.sizes)
                .map_err(|e| invalid("sizes", &self.sizes, e.to_string()))?;
        }
        if let Some(n) = &self.iterations {
            parse_count(n).map_err(|e| invalid("iterations", n, e.to_string()))?;
        }
        if let Some(d) = &self.duration {
            parse_duration(d).map_err(|e| invalid("duration", d, e.to_string()))?;
            if self.iterations.is_some() {
                return Err(invalid(
                    "duration",
                    d,
                    "set iterations or duration, not both".into(),
                ));
            }
        }
        if let Some(w) = &self.warmup {
            if w.trim() != "0" {
                parse_count(w).map_err(|e| invalid("warmup", w, e.to_string()))?;
            }
        }
        let windowed = self.kind == "bw" || (self.kind == "rma" && self.bw);
        if let Some(p) = &self.precision {
            parse_percent(p).map_err(|e| invalid("precision", p, e.to_string()))?;
            if windowed || self.kind == "tool" {
                return Err(invalid(
                    "precision",
                    p,
                    "precision stops rdmabench's latency tests (pingpong, rma without bw); bandwidth tests and reference tools take iterations".into(),
                ));
            }
        }
        if !windowed && self.window.is_some() {
            return Err(invalid(
                "window",
                &self.window.map_or_else(String::new, |w| w.to_string()),
                "only a bandwidth test has a window: kind = \"bw\", or kind = \"rma\" with bw = true"
                    .into(),
            ));
        }
        if let Some(method) = &self.method {
            if self.kind != "bw" {
                return Err(invalid(
                    "method",
                    method,
                    "only kind = \"bw\" has a method (osu, fabtests, perftest)".into(),
                ));
            }
            one_of(method, BW_METHODS).map_err(|p| invalid("method", method, p))?;
            if method == "fabtests" && self.bidirectional {
                return Err(invalid(
                    "method",
                    method,
                    "fabtests' bandwidth() measures one way: drop bidirectional, or use \"osu\" or \"perftest\"".into(),
                ));
            }
        }
        if self.kind != "bw" && self.bidirectional {
            return Err(invalid(
                "bidirectional",
                "true",
                "only kind = \"bw\" runs both ways".into(),
            ));
        }
        match (&self.kind[..], &self.op) {
            ("rma", None) => {
                return Err(invalid(
                    "op",
                    "(missing)",
                    "an rma test needs op = \"write\" or \"read\"".into(),
                ))
            }
            ("rma", Some(op)) => one_of(op, RMA_OPS).map_err(|p| invalid("op", op, p))?,
            (_, Some(op)) => return Err(invalid("op", op, "only kind = \"rma\" has an op".into())),
            (_, None) => {}
        }
        match (&self.kind[..], &self.tool) {
            ("tool", None) => {
                return Err(invalid(
                    "tool",
                    "(missing)",
                    "a tool test names its tool, e.g. tool = \"fi_pingpong\"".into(),
                ))
            }
            ("tool", Some(tool)) => {
                one_of(tool, SUITE_TOOLS).map_err(|p| invalid("tool", tool, p))?;
                self.check_tool(tool, &invalid)?;
            }
            (_, Some(tool)) => {
                return Err(invalid(
                    "tool",
                    tool,
                    "only kind = \"tool\" has a tool".into(),
                ))
            }
            (_, None) => {}
        }
        if self.bw && self.kind != "rma" {
            return Err(invalid(
                "bw",
                "true",
                "bw = true belongs to kind = \"rma\"; for message bandwidth use kind = \"bw\""
                    .into(),
            ));
        }
        if self.window == Some(0) {
            return Err(invalid(
                "window",
                "0",
                "a window holds at least one message in flight; try 64".into(),
            ));
        }
        if self.modes.is_empty() {
            return Err(invalid(
                "modes",
                "[]",
                "name at least one of \"node\", \"pod\"".into(),
            ));
        }
        for mode in &self.modes {
            one_of(mode, MODES).map_err(|p| invalid("modes", mode, p))?;
        }
        Ok(())
    }

    /// The `rdmabench <kind>` options that measure this test on `target`, with the
    /// provider already resolved (`local_provider` replaces "default" locally) and `--iters`
    /// from `iterations_override` when given. Role, address, port and output are the
    /// runner's.
    pub fn options(
        &self,
        target: Target,
        local_provider: &str,
        iterations_override: Option<&str>,
    ) -> Vec<String> {
        let mut options: Vec<String> = Vec::new();
        let mut push = |flag: &str, value: Option<&str>| {
            options.push(flag.to_string());
            options.extend(value.map(str::to_string));
        };
        if self.transport == "socket" {
            push("--transport", Some("socket"));
        } else {
            let provider = match (self.provider.as_str(), target) {
                ("default", Target::Local) => local_provider,
                ("default", Target::Eks) => "efa",
                (chosen, _) => chosen,
            };
            push("--provider", Some(provider));
        }
        push("--api", Some(&self.api));
        if let Some(fabric) = &self.fabric {
            push("--fabric", Some(fabric));
        }
        if self.require_device_rdma {
            push("--require-device-rdma", None);
        }
        if self.sizes == "sweep" {
            push("--sweep", None);
        } else {
            push("--sizes", Some(&self.sizes));
        }
        match (iterations_override, &self.iterations, &self.duration) {
            (Some(n), _, _) => push("--iters", Some(n)),
            (None, Some(n), _) => push("--iters", Some(n)),
            (None, None, Some(d)) => push("--duration", Some(d)),
            // A bandwidth test keeps its own default (perftest's 5000 messages), a precision
            // target the measurement's own ceiling.
            (None, None, None) if !(self.kind == "bw" || self.bw || self.precision.is_some()) => {
                push("--iters", Some(target.default_iterations()))
            }
            (None, None, None) => {}
        }
        if let Some(p) = &self.precision {
            push("--precision", Some(p));
        }
        if let Some(w) = &self.warmup {
            push("--warmup", Some(w));
        }
        if self.verify {
            push("--verify", None);
        }
        if let Some(op) = &self.op {
            push("--op", Some(op));
        }
        if self.bw {
            push("--bw", None);
        }
        if let Some(window) = self.window {
            push("--window", Some(&window.to_string()));
        }
        if self.bidirectional {
            push("--bidirectional", None);
        }
        if let Some(method) = &self.method {
            push("--method", Some(method));
        }
        options
    }

    /// What the tool cannot do, refused with the reason.
    fn check_tool(
        &self,
        tool: &str,
        invalid: &dyn Fn(&'static str, &str, String) -> SuiteError,
    ) -> Result<(), SuiteError> {
        if self.transport == "socket" {
            return Err(invalid(
                "transport",
                "socket",
                format!("{tool} runs over the fabric: use transport = \"fabric\" (and a kernel-TCP test of kind pingpong beside it)"),
            ));
        }
        if let Some(d) = &self.duration {
            return Err(invalid(
                "duration",
                d,
                format!("{tool} counts its repeats: set iterations instead"),
            ));
        }
        if let Some(w) = self.warmup.as_ref().filter(|_| !tools::has_warmup(tool)) {
            return Err(invalid(
                "warmup",
                w,
                format!(
                    "{tool} has no warm-up option (OSU's -x is the only one); remove the field"
                ),
            ));
        }
        if let Some(fabric) = self.fabric.as_ref().filter(|_| tool != "fi_pingpong") {
            return Err(invalid(
                "fabric",
                fabric,
                format!("{tool} does not choose a libfabric fabric (only fi_pingpong has -f); remove the field"),
            ));
        }
        if self.require_device_rdma {
            return Err(invalid(
                "require_device_rdma",
                "true",
                format!("{tool} has no such option: it is rdmabench's (FI_OPT_EFA_USE_DEVICE_RDMA); remove the field"),
            ));
        }
        if self.verify && !tools::has_verify(tool) {
            return Err(invalid(
                "verify",
                "true",
                format!("{tool} has no data check that runs while it measures (NetPIPE's -i replaces the measurement); remove the field"),
            ));
        }
        Ok(())
    }

    /// The reference tool run this test describes on `target`: tool, provider (resolved as
    /// for rdmabench's tests), tagged or not, sizes and round trips as given.
    pub fn tool_plan(
        &self,
        target: Target,
        local_provider: &str,
        iterations_override: Option<&str>,
    ) -> Option<ToolPlan> {
        let tool = self.tool.clone()?;
        let provider = match (self.provider.as_str(), target) {
            ("default", Target::Local) => local_provider,
            ("default", Target::Eks) => "efa",
            (chosen, _) => chosen,
        };
        Some(ToolPlan {
            tool,
            provider: provider.to_string(),
            tagged: self.api == "tagged",
            sizes: self.sizes.clone(),
            iterations: iterations_override
                .map(str::to_string)
                .or_else(|| self.iterations.clone())
                .unwrap_or_else(|| target.default_iterations().to_string()),
            verify: self.verify,
            fabric: self.fabric.clone().filter(|f| f != "auto"),
            warmup: self.warmup.clone(),
        })
    }

    /// True when the test would use shared memory locally, which crosses no network stack
    /// and so says nothing about a fabric between hosts.
    pub fn uses_shm(&self) -> bool {
        self.transport == "fabric" && self.provider == "shm"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Suite, SuiteError> {
        Suite::from_toml(text, "suite.toml")
    }

    #[test]
    fn the_default_suite_is_the_seeds_pingpong_in_both_modes() {
        let suite = Suite::from_toml(SEED_SUITE, "seed").unwrap();
        assert_eq!(suite.name, "seed");
        assert_eq!(suite.tests.len(), 1);
        let test = &suite.tests[0];
        assert_eq!(
            (test.kind.as_str(), test.sizes.as_str()),
            ("pingpong", "seed")
        );
        assert_eq!(test.modes, ["node", "pod"]);
        assert_eq!(
            test.options(Target::Local, "net", None),
            [
                "--provider",
                "net",
                "--api",
                "msg",
                "--sizes",
                "seed",
                "--iters",
                "100k"
            ]
        );
        assert_eq!(
            test.options(Target::Eks, "net", Some("1m")),
            [
                "--provider",
                "efa",
                "--api",
                "msg",
                "--sizes",
                "seed",
                "--iters",
                "1m"
            ]
        );
    }

    #[test]
    fn minimal_tests_take_defaults_and_options_follow_the_fields() {
        let suite = parse(
            "name = \"x\"\n[[test]]\nname = \"tcp\"\nkind = \"pingpong\"\ntransport = \"socket\"\nsizes = \"sweep\"\nduration = \"2s\"\nwarmup = \"0\"\nverify = true\n",
        )
        .unwrap();
        assert_eq!(
            suite.tests[0].options(Target::Local, "tcp", None),
            [
                "--transport",
                "socket",
                "--api",
                "msg",
                "--sweep",
                "--duration",
                "2s",
                "--warmup",
                "0",
                "--verify"
            ]
        );
    }

    /// A precision target passes on as --precision; without iterations the measurement's own
    /// ceiling applies (no target default is pushed), and only latency tests take one.
    #[test]
    fn precision_reaches_latency_tests_and_is_refused_elsewhere() {
        let suite = parse(
            "name = \"x\"\n[[test]]\nname = \"p\"\nkind = \"pingpong\"\nprovider = \"tcp\"\nsizes = \"4\"\nprecision = \"1%\"\n",
        )
        .unwrap();
        let options = suite.tests[0].options(Target::Eks, "net", None);
        assert!(
            options.windows(2).any(|w| w == ["--precision", "1%"]),
            "{options:?}"
        );
        assert!(!options.contains(&"--iters".to_string()), "{options:?}");
        for (kind, precision) in [("bw", "1%"), ("pingpong", "0%")] {
            let err = parse(&format!(
                "name = \"x\"\n[[test]]\nname = \"p\"\nkind = \"{kind}\"\nprecision = \"{precision}\"\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(err.contains("precision"), "{kind}: {err}");
        }
    }

    #[test]
    fn every_embedded_suite_is_valid() {
        for (name, text) in EMBEDDED_SUITES {
            Suite::from_toml(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn rma_tests_pass_their_operation_and_window_on() {
        let suite = parse(
            "name = \"x\"\n[[test]]\nname = \"r\"\nkind = \"rma\"\nop = \"read\"\nbw = true\nwindow = 16\nprovider = \"tcp\"\n",
        )
        .unwrap();
        assert_eq!(
            suite.tests[0].options(Target::Local, "net", None),
            [
                "--provider",
                "tcp",
                "--api",
                "msg",
                "--sizes",
                "seed",
                "--op",
                "read",
                "--bw",
                "--window",
                "16"
            ]
        );
    }

    #[test]
    fn bandwidth_methods_reach_bw_and_are_refused_where_they_cannot_apply() {
        let suite = parse(
            "name = \"x\"\n[[test]]\nname = \"b\"\nkind = \"bw\"\nmethod = \"perftest\"\nbidirectional = true\n",
        )
        .unwrap();
        let options = suite.tests[0].options(Target::Local, "net", None).join(" ");
        assert!(
            options.ends_with("--bidirectional --method perftest"),
            "{options}"
        );
        for (fields, expected) in [
            (
                "kind = \"bw\"\nmethod = \"iperf\"",
                "one of osu, fabtests, perftest",
            ),
            (
                "kind = \"pingpong\"\nmethod = \"osu\"",
                "only kind = \"bw\" has a method",
            ),
            (
                "kind = \"bw\"\nmethod = \"fabtests\"\nbidirectional = true",
                "measures one way",
            ),
        ] {
            let err = parse(&format!("name = \"x\"\n[[test]]\nname = \"b\"\n{fields}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("method") && err.contains(expected), "{err}");
        }
    }

    /// One suite can set efa's two fabrics side by side, rdmabench and fi_pingpong each on it.
    const EFA_FABRICS: &str = r#"name = "fabrics"
[[test]]
name = "efa"
kind = "pingpong"
provider = "efa"
fabric = "efa"
sizes = "4,8K"
[[test]]
name = "efa-direct"
kind = "pingpong"
provider = "efa"
fabric = "efa-direct"
sizes = "4,8K"
require_device_rdma = true
[[test]]
name = "fi-pingpong-direct"
kind = "tool"
tool = "fi_pingpong"
fabric = "efa-direct"
sizes = "4,8K"
"#;

    #[test]
    fn fabrics_reach_rdmabench_and_fi_pingpong() {
        let suite = parse(EFA_FABRICS).unwrap();
        let options = suite.tests[1].options(Target::Eks, "net", Some("1k"));
        assert_eq!(
            options.join(" "),
            "--provider efa --api msg --fabric efa-direct --require-device-rdma --sizes 4,8K --iters 1k"
        );
        assert_eq!(
            suite.tests[0].options(Target::Eks, "net", Some("1k"))[4..6],
            ["--fabric", "efa"]
        );
        let plan = suite.tests[2]
            .tool_plan(Target::Eks, "net", Some("1k"))
            .unwrap();
        assert_eq!(plan.fabric.as_deref(), Some("efa-direct"));
        assert_eq!(plan.provider, "efa");
    }

    #[test]
    fn fabrics_are_refused_where_they_cannot_apply() {
        let cases = [
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\nprovider = \"tcp\"\nfabric = \"efa\"\n",
                "test 'a': fabric = \"efa\": a fabric chooses between the efa provider's two",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\nfabric = \"efa-direct\"\napi = \"tagged\"\n",
                "efa-direct has no tagged API",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\nfabric = \"efa-fast\"\n",
                "use one of auto, efa, efa-direct",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"tool\"\ntool = \"ib_send_lat\"\nfabric = \"efa\"\n",
                "ib_send_lat does not choose a libfabric fabric",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"rma\"\nop = \"read\"\nprovider = \"shm\"\nrequire_device_rdma = true\n",
                "device RDMA is an efa provider option",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn bad_suites_name_the_test_field_and_fix() {
        let cases = [
            ("name = \"x\"\n", "suite.toml: the suite has no tests"),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\n",
                "two tests are named 'a'",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"A b\"\nkind = \"pingpong\"\n",
                "test 'A b': name = \"A b\": use 1-40 lowercase",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"atomic\"\n",
                "test 'a': kind = \"atomic\": use one of pingpong, bw, rma, tool",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\nsizes = \"4,0\"\n",
                "test 'a': sizes = \"4,0\":",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\niterations = \"lots\"\n",
                "iterations = \"lots\"",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\niterations = \"1k\"\nduration = \"1s\"\n",
                "set iterations or duration, not both",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\ntransport = \"socket\"\nprovider = \"tcp\"\n",
                "a socket test has no provider",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\nmodes = [\"vm\"]\n",
                "modes = \"vm\": use one of node, pod",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\nmodes = []\n",
                "name at least one of",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\nsize = \"4\"\n",
                "unknown field `size`",
            ),
            ("name = \"x\"\n[[test]]\nname = \"a\"\n", "missing field `kind`"),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"rma\"\n",
                "test 'a': op = \"(missing)\": an rma test needs op",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"rma\"\nop = \"atomic\"\n",
                "op = \"atomic\": use one of write, read",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\nop = \"read\"\n",
                "only kind = \"rma\" has an op",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"rma\"\nop = \"read\"\nwindow = 8\n",
                "kind = \"rma\" with bw = true",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"bw\"\nbw = true\n",
                "bw = true belongs to kind = \"rma\"",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"rma\"\nop = \"read\"\nbidirectional = true\n",
                "only kind = \"bw\" runs both ways",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"tool\"\n",
                "a tool test names its tool",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"tool\"\ntool = \"iperf\"\n",
                "tool = \"iperf\": use one of fi_pingpong, ib_send_lat",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"tool\"\ntool = \"fi_pingpong\"\ntransport = \"socket\"\n",
                "fi_pingpong runs over the fabric",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"tool\"\ntool = \"fi_pingpong\"\nduration = \"5s\"\n",
                "fi_pingpong counts its repeats",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"tool\"\ntool = \"fi_pingpong\"\nwarmup = \"1k\"\n",
                "has no warm-up",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"tool\"\ntool = \"NPopenmpi\"\nverify = true\n",
                "NPopenmpi has no data check that runs while it measures",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"tool\"\ntool = \"IMB-PingPong\"\nwarmup = \"100\"\n",
                "IMB-PingPong has no warm-up option",
            ),
            (
                "name = \"x\"\n[[test]]\nname = \"a\"\nkind = \"pingpong\"\ntool = \"fi_pingpong\"\n",
                "only kind = \"tool\" has a tool",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(error.starts_with("suite.toml: "), "{error}");
        }
    }
}
