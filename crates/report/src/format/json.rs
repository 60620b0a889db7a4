//! JSON: the results file itself, exactly as it is written to disk.

use crate::model::ResultsFile;

pub(super) fn render(results: &ResultsFile) -> String {
    results.to_json_pretty()
}

#[cfg(test)]
mod tests {
    use crate::format::sample;
    use crate::model::ResultsError;
    use crate::model::ResultsFile;

    #[test]
    fn json_round_trips_and_is_snapshotted() {
        let results = sample::results();
        let text = super::render(&results);
        assert!(text.ends_with("}\n"));
        insta::assert_snapshot!(text);
        assert_eq!(ResultsFile::from_json(&text), Ok(results));
    }

    #[test]
    fn files_written_before_placement_existed_still_read() {
        let results = sample::results();
        let text = super::render(&results).replace(",\n  \"placement\": null", "");
        assert!(!text.contains("placement"));
        assert_eq!(ResultsFile::from_json(&text), Ok(results));
    }

    #[test]
    fn files_written_before_cpu_placement_was_recorded_still_read() {
        let results = sample::results();
        let text = super::render(&results)
            .replace(",\n      \"cpu_set\": \"32-35\"", "")
            .replace(",\n      \"cpu_numa_nodes\": [\n        1\n      ]", "")
            .replace(",\n      \"efa_numa_node\": null", "");
        assert!(
            !text.contains("cpu_set") && !text.contains("numa"),
            "{text}"
        );
        let read = ResultsFile::from_json(&text).unwrap();
        assert_eq!(read.endpoints.local.cpu_set, None);
        assert!(read.endpoints.local.cpu_numa_nodes.is_empty());
        assert_eq!(read.endpoints.local.efa_numa_node, None);
    }

    #[test]
    fn optional_fields_are_written_as_null() {
        let text = super::render(&sample::results());
        for field in [
            "note",
            "duration_ns",
            "warmup_iterations",
            "cpu",
            "pinned_cpu",
            "placement",
            "efa",
            "efa_numa_node",
        ] {
            assert!(text.contains(&format!("\"{field}\": null")), "{field}");
        }
    }

    #[test]
    fn other_schema_versions_are_refused_by_name() {
        let text = super::render(&sample::results())
            .replace("\"schema_version\": 6", "\"schema_version\": 7");
        let err = ResultsFile::from_json(&text).unwrap_err();
        assert_eq!(
            err,
            ResultsError::SchemaVersion {
                found: 7,
                oldest: 1,
                newest: 6
            }
        );
        assert_eq!(
            err.to_string(),
            "results file has schema_version 7, but this rdmabench reads versions 1 to 6; read it \
             with the rdmabench version that wrote it (see tool.version in the file)"
        );
    }

    #[test]
    fn version_1_files_read_as_version_2_with_nothing_lost() {
        // A version-1 file: every figure present, no bandwidth, no command line.
        let mut value: serde_json::Value =
            serde_json::from_str(&super::render(&sample::results())).unwrap();
        value["schema_version"] = 1.into();
        for row in value["results"].as_array_mut().unwrap() {
            row.as_object_mut().unwrap().remove("bandwidth");
        }
        value.as_object_mut().unwrap().remove("command_line");
        let read = ResultsFile::from_json(&value.to_string()).unwrap();
        assert_eq!(read.schema_version, 1);
        assert_eq!(read.results, sample::results().results);
    }

    #[test]
    fn version_4_files_read_with_no_figure_rounded() {
        // A version-4 file: rows without `rounded`, as every file before version 5.
        let mut value: serde_json::Value =
            serde_json::from_str(&super::render(&sample::results())).unwrap();
        value["schema_version"] = 4.into();
        for row in value["results"].as_array_mut().unwrap() {
            assert!(row.as_object_mut().unwrap().remove("rounded").is_some());
        }
        let read = ResultsFile::from_json(&value.to_string()).unwrap();
        assert!(read.results.iter().all(|r| r.rounded.is_empty()));
        assert_eq!(read.results, sample::results().results);
        // Its means are still total / (2 x iterations).
        assert_eq!(read.results[0].mean_ns(), Some(10_260));
    }

    #[test]
    fn version_4_bandwidth_files_read_as_the_osu_method_they_ran() {
        // Before version 5 rdmabench had one bandwidth loop, osu's, and recorded no method.
        let mut value: serde_json::Value =
            serde_json::from_str(&super::render(&sample::results())).unwrap();
        value["schema_version"] = 4.into();
        value["test"] = "bw".into();
        value["parameters"]["window"] = 64.into();
        assert!(value["parameters"].get("method").is_none());
        let read = ResultsFile::from_json(&value.to_string()).unwrap();
        assert_eq!(read.parameters.method.as_deref(), Some("osu"));
        // Other tools' imported bandwidth runs name no rdmabench method.
        value["tool"]["name"] = "perftest".into();
        let read = ResultsFile::from_json(&value.to_string()).unwrap();
        assert_eq!(read.parameters.method, None);
    }

    #[test]
    fn version_2_files_read_with_the_documented_defaults() {
        // A version-2 file: no fabric kind, RMA emulation, selection or fabric parameters.
        let mut value: serde_json::Value =
            serde_json::from_str(&super::render(&sample::results())).unwrap();
        value["schema_version"] = 2.into();
        for field in ["fabric_kind", "rma_emulated", "selected"] {
            value["fabric"].as_object_mut().unwrap().remove(field);
        }
        for field in ["fabric", "require_device_rdma"] {
            value["parameters"].as_object_mut().unwrap().remove(field);
        }
        let read = ResultsFile::from_json(&value.to_string()).unwrap();
        let fabric = read.fabric.as_ref().unwrap();
        // efa-direct did not exist for version-2 files: the kind is the core provider.
        assert_eq!(fabric.fabric_kind, "efa");
        assert_eq!(fabric.rma_emulated, None);
        assert_eq!(read.parameters.fabric, "auto");
        assert!(!read.parameters.require_device_rdma);
        assert_eq!(read.results, sample::results().results);
    }

    #[test]
    fn version_4_files_read_without_the_efa_mechanism_or_policy_record() {
        let mut value: serde_json::Value =
            serde_json::from_str(&super::render(&sample::results())).unwrap();
        value["schema_version"] = 4.into();
        value["placement"] = serde_json::json!({
            "target": "eks", "cluster": "c", "mode": "pod", "namespace": "rdmabench",
            "server_node": "a", "client_node": "b", "instance_type": "c6in.32xlarge",
            "image": "i", "repetition": 1
        });
        let read = ResultsFile::from_json(&value.to_string()).unwrap();
        let placement = read.placement.as_ref().unwrap();
        assert_eq!(placement.efa_devices, None);
        assert_eq!(placement.network_policy, None);
        assert!(read.to_json_pretty().contains("\"schema_version\": 6"));
    }

    #[test]
    fn version_3_files_read_without_an_efa_stack_and_are_written_as_the_current_version() {
        let mut value: serde_json::Value =
            serde_json::from_str(&super::render(&sample::results())).unwrap();
        value["schema_version"] = 3.into();
        value["endpoints"]["local"]
            .as_object_mut()
            .unwrap()
            .remove("efa");
        let read = ResultsFile::from_json(&value.to_string()).unwrap();
        assert_eq!(read.endpoints.local.efa, None);
        assert!(read.to_json_pretty().contains("\"schema_version\": 6"));
    }

    #[test]
    fn other_json_is_refused_as_malformed() {
        for text in [
            "",
            "{}",
            "[1]",
            "{\"schema_version\": \"1\"}",
            "{\"schema_version\": 1}",
        ] {
            assert!(
                matches!(
                    ResultsFile::from_json(text),
                    Err(ResultsError::Malformed(_))
                ),
                "{text}"
            );
        }
    }
}
