//! The stack's whole life against a local moto server (127.0.0.1, random port), driven through
//! the same `rdmabench infra ...` commands a user runs. Only the endpoints differ: the AWS SDK
//! and the Terraform provider both read AWS_ENDPOINT_URL. moto's gaps (placement groups, EKS
//! add-ons and access entries, Service Quotas, EKS/ECR in the tagging API) are filled by
//! tests/support/moto_wrapper.py; tests/support/moto_inventory.py lists what moto still holds.

#[path = "support/moto.rs"]
mod moto;
#[path = "support/service.rs"]
mod service;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use moto::Moto;
use rdmabench_infra::terraform::{mirror_cli_config, provider_mirror};

/// One stack at a time: each test applies a full stack, and two at once on two cores only
/// makes every terraform wait on the other.
static SERIAL: Mutex<()> = Mutex::new(());

const STACK: &str = "rdmabench";

/// A user's machine: a working directory with rdmabench.toml, a state root, AWS settings that
/// point at moto and a Terraform CLI config that installs the provider from the local mirror.
struct Machine {
    dir: tempfile::TempDir,
    moto: Moto,
}

impl Machine {
    fn new(moto_args: &[&str]) -> Option<Machine> {
        let mirror = provider_mirror().expect("the aws provider mirror (see DESIGN.md)");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cli.tfrc"), mirror_cli_config(&mirror)).unwrap();
        let moto = Moto::start(dir.path(), moto_args)?;
        let machine = Machine { dir, moto };
        let init = machine.rdmabench(&["init", "--public-cidr", "203.0.113.7/32"]);
        assert!(init.status.success(), "{}", text(&init.stderr));
        Some(machine)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn rdmabench(&self, args: &[&str]) -> Output {
        let dir = self.path();
        let mut command = Command::new(env!("CARGO_BIN_EXE_rdmabench"));
        command
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        self.moto.user_env(&mut command, dir);
        command.stdin(Stdio::null()).output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.rdmabench(args);
        assert!(
            out.status.success(),
            "rdmabench {args:?} failed ({}):\n{}\n{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn assert_nothing_left(&self) {
        let left = self.moto.leftovers(STACK);
        assert!(left.is_empty(), "left in moto: {left:#?}");
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn up_plan_outputs_status_down_leave_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(m) = Machine::new(&[]) else { return };

    let check = m.ok(&["infra", "check"]);
    assert!(
        check.contains("ok    credentials: account 123456789012"),
        "{check}"
    );
    assert!(
        check.contains("m7g.16xlarge offered in us-east-1"),
        "{check}"
    );
    assert!(check.contains("L-1216C47A"), "{check}");

    let up = m.rdmabench(&["infra", "up", "--yes", "--ttl", "2h"]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let progress = text(&up.stderr);
    assert!(
        progress.contains("$5.45/h"),
        "the cost estimate is shown before applying: {progress}"
    );
    assert!(text(&up.stdout).contains("cluster_name = rdmabench"));

    // A second plan is clean: literal tags, no drift.
    let plan = m.rdmabench(&["infra", "plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}{}",
        text(&plan.stdout),
        text(&plan.stderr)
    );
    assert!(text(&plan.stdout).contains("No changes."));

    let outputs: serde_json::Value =
        serde_json::from_str(&m.ok(&["infra", "outputs", "--json"])).unwrap();
    assert_eq!(outputs["schema_version"], 1);
    for key in [
        "region",
        "cluster_name",
        "cluster_endpoint",
        "node_group",
        "ecr_repository_url",
    ] {
        assert!(
            outputs["outputs"].get(key).is_some(),
            "{key} missing: {outputs}"
        );
    }

    let status = m.ok(&["infra", "status"]);
    assert!(status.contains("nodes:    2 x m7g.16xlarge"), "{status}");
    assert!(status.contains("ttl:      2h00m\n"), "{status}");
    assert!(!status.contains("in state: 0 resources"), "{status}");

    // A second `up` finds its own state and changes nothing.
    m.ok(&["infra", "up", "--yes"]);

    let down = m.rdmabench(&["infra", "down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    assert!(text(&down.stderr).contains("nothing tagged rdmabench:stack=rdmabench is left"));
    m.assert_nothing_left();
    assert!(!m.path().join("state/rdmabench/stack.json").exists());

    // What AWS keeps listing after a destroy (the KMS key pending deletion, deleted NAT
    // gateways) must not make the next `up` take the stack for orphans: it gets as far as
    // asking for confirmation.
    let next = m.rdmabench(&["infra", "up"]);
    assert!(!next.status.success());
    let message = text(&next.stderr);
    assert!(
        message.contains("pass --yes") && !message.contains("--orphans"),
        "{message}"
    );
}

#[test]
fn lost_state_blocks_up_and_down_orphans_cleans_up() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(m) = Machine::new(&[]) else { return };
    m.ok(&["infra", "up", "--yes"]);
    std::fs::remove_dir_all(m.path().join("state/rdmabench")).unwrap();

    let again = m.rdmabench(&["infra", "up", "--yes"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("infra down --orphans"),
        "{}",
        text(&again.stderr)
    );

    let down = m.rdmabench(&["infra", "down", "--orphans", "--yes"]);
    let progress = text(&down.stderr);
    assert!(down.status.success(), "{progress}");
    for address in [
        "aws_vpc.main",
        "aws_nat_gateway.nat_1",
        "aws_eks_node_group.efa",
        "aws_iam_role.node",
    ] {
        assert!(
            progress.contains(&format!("rdmabench: found {address} (")),
            "{address}: {progress}"
        );
    }
    m.assert_nothing_left();
}

/// Sends one EC2 call as an SDK does when it missed the answer: the same request (same
/// amz-sdk-invocation-id) again as attempt 2, then the same parameters as a new call; prints the
/// three HTTP statuses.
const RESEND_REVOKE: &str = r#"
import sys, boto3, requests
ec2 = boto3.client("ec2", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
# The region's default VPC, which moto creates: no address of our own is named.
vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
group = ec2.create_security_group(GroupName="resent", Description="d", VpcId=vpc)["GroupId"]
sent = []
ec2.meta.events.register("before-send.ec2.RevokeSecurityGroupEgress",
                         lambda request, **_: sent.append(request))
default_egress = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
ec2.revoke_security_group_egress(GroupId=group, IpPermissions=default_egress)
first = sent[0]
headers = dict(first.headers)
assert headers.get("amz-sdk-invocation-id"), headers
headers["amz-sdk-request"] = "attempt=2; max=5"
resent = requests.post(first.url, data=first.body, headers=headers, timeout=30)
try:
    ec2.revoke_security_group_egress(GroupId=group, IpPermissions=default_egress)
    again = 200
except ec2.exceptions.ClientError as error:
    again = error.response["ResponseMetadata"]["HTTPStatusCode"]
print(200, resent.status_code, again)
"#;

#[test]
fn the_fake_answers_a_resent_call_as_aws_does() {
    // CI once failed because terraform's SDK resent RevokeSecurityGroupEgress (it had missed
    // moto's answer on a loaded machine) and moto answered the resend InvalidPermission.NotFound.
    // The wrapper replays the first answer to a resend; a new call still meets moto's state.
    let dir = tempfile::tempdir().unwrap();
    let Some(moto) = Moto::start(dir.path(), &[]) else {
        return;
    };
    let statuses = text(&moto.python(&["-c", RESEND_REVOKE, &moto.endpoint]));
    assert_eq!(statuses.trim(), "200 200 400", "first, resent, new call");
    let log = std::fs::read_to_string(dir.path().join("moto.log")).unwrap();
    assert!(
        log.contains("RevokeSecurityGroupEgress attempt 2 200 (first answer, resent)"),
        "{log}"
    );
}

#[test]
fn a_failed_apply_can_still_be_destroyed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The node group is the step that fails for real when AWS runs out of a scarce type: EKS
    // creates it, then reports it CREATE_FAILED with EC2's InsufficientInstanceCapacity.
    let Some(m) = Machine::new(&["--no-capacity"]) else {
        return;
    };
    let up = m.rdmabench(&["infra", "up", "--yes"]);
    assert!(!up.status.success());
    let message = text(&up.stderr);
    assert!(message.contains("rdmabench infra down"), "{message}");
    assert!(
        message.contains("CREATE_FAILED") && message.contains("InsufficientInstanceCapacity"),
        "terraform's reason is shown: {message}"
    );
    assert!(
        message.contains("hint: AWS has no free m7g.16xlarge capacity"),
        "{message}"
    );
    for field in [
        "network.availability_zones",
        "nodes.capacity_reservation_id",
    ] {
        assert!(message.contains(field), "the hint names {field}: {message}");
    }

    let down = m.rdmabench(&["infra", "down", "--yes"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    m.assert_nothing_left();
}

#[test]
fn the_log_group_eks_recreates_does_not_block_the_next_up() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // moto re-creates the cluster's log group once after each cluster deletion, as EKS does.
    let Some(m) = Machine::new(&["--recreate-eks-log-groups"]) else {
        return;
    };
    let group = "/aws/eks/rdmabench/cluster";
    m.ok(&["infra", "up", "--yes"]);
    let down = m.rdmabench(&["infra", "down", "--yes"]);
    let progress = text(&down.stderr);
    assert!(down.status.success(), "{progress}");
    assert!(
        progress.contains(&format!("removed log group {group}, which EKS re-created")),
        "{progress}"
    );
    m.assert_nothing_left();

    // One that appears after `down` (EKS can be late) is adopted by the next `up`, which
    // would otherwise fail with ResourceAlreadyExistsException.
    m.moto.create_log_group(group);
    let up = m.rdmabench(&["infra", "up", "--yes"]);
    let progress = text(&up.stderr);
    assert!(up.status.success(), "{progress}");
    assert!(
        progress.contains(&format!("log group {group} exists outside the state")),
        "{progress}"
    );
    m.ok(&["infra", "down", "--yes"]);
    m.assert_nothing_left();
}

#[test]
fn preflight_failures_stop_up_before_anything_exists() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(m) = Machine::new(&["--quota", "L-1216C47A=64"]) else {
        return;
    };
    let check = m.rdmabench(&["infra", "check"]);
    assert_eq!(check.status.code(), Some(1));
    let report = text(&check.stdout);
    assert!(
        report.contains("FAIL  quota Running On-Demand Standard")
            && report.contains("64 vCPUs < 128 needed"),
        "{report}"
    );

    let up = m.rdmabench(&["infra", "up", "--yes"]);
    assert!(!up.status.success());
    assert!(text(&up.stderr).contains("nothing was created"));

    // Without --yes and without a terminal, up refuses (after a passing preflight too).
    std::fs::write(
        m.path().join("rdmabench.toml"),
        std::fs::read_to_string(m.path().join("rdmabench.toml"))
            .unwrap()
            .replace(
                "instance_type = \"m7g.16xlarge\"",
                "instance_type = \"g6.48xlarge\"",
            ),
    )
    .unwrap();
    let unconfirmed = m.rdmabench(&["infra", "up"]);
    assert!(!unconfirmed.status.success());
    assert!(
        text(&unconfirmed.stderr).contains("pass --yes"),
        "{}",
        text(&unconfirmed.stderr)
    );
    m.assert_nothing_left();
}
