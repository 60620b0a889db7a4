//! What lets an MPI run's client start Open MPI's daemon in the server pod through the exec API
//! (`rdmabench launch`, instead of SSH): a service account for the client pod, a Role that
//! allows exec into exactly that mode's server pod and nothing else, and the binding between
//! them. They exist only for the measurement, like the pods.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};

use super::{metadata, BenchSpec, Mode, Role as BenchRole, MODE_LABEL};

/// The service account, Role and RoleBinding of one mode's launcher.
#[derive(Debug, Clone)]
pub struct LauncherAccess {
    /// The client pod's identity.
    pub service_account: ServiceAccount,
    /// Exec into the server pod (create for WebSocket exec, get for older API servers).
    pub role: Role,
    /// The account bound to the Role.
    pub role_binding: RoleBinding,
}

impl LauncherAccess {
    /// The name the three objects share in `mode`.
    pub fn name(mode: Mode) -> String {
        format!("rdmabench-{}-launcher", mode.as_str())
    }

    /// The objects for `mode`'s client.
    pub fn new(spec: &BenchSpec, mode: Mode) -> LauncherAccess {
        let name = Self::name(mode);
        let meta = || metadata(&name, Some(&spec.namespace), &[(MODE_LABEL, mode.as_str())]);
        LauncherAccess {
            service_account: ServiceAccount {
                metadata: meta(),
                // The token is mounted only into the client pod that needs it.
                automount_service_account_token: Some(false),
                ..ServiceAccount::default()
            },
            role: Role {
                metadata: meta(),
                rules: Some(vec![PolicyRule {
                    api_groups: Some(vec![String::new()]),
                    resources: Some(vec!["pods/exec".to_string()]),
                    resource_names: Some(vec![BenchSpec::pod_name(mode, BenchRole::Server)]),
                    verbs: vec!["create".to_string(), "get".to_string()],
                    ..PolicyRule::default()
                }]),
            },
            role_binding: RoleBinding {
                metadata: meta(),
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".to_string(),
                    kind: "Role".to_string(),
                    name: name.clone(),
                },
                subjects: Some(vec![Subject {
                    kind: "ServiceAccount".to_string(),
                    name: name.clone(),
                    namespace: Some(spec.namespace.clone()),
                    ..Subject::default()
                }]),
            },
        }
    }
}
