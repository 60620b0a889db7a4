//! JSON: the results file itself, exactly as it is written to disk.

use crate::model::ResultsFile;

pub(super) fn render(results: &ResultsFile) -> String {
    results.to_json_pretty()
}

#[cfg(test)]
mod tests {
    use crate::error::ReportError;
    use crate::format::sample;
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
    fn optional_fields_are_written_as_null() {
        let text = super::render(&sample::results());
        for field in [
            "note",
            "duration_ns",
            "warmup_iterations",
            "cpu",
            "pinned_cpu",
            "placement",
        ] {
            assert!(text.contains(&format!("\"{field}\": null")), "{field}");
        }
    }

    #[test]
    fn other_schema_versions_are_refused_by_name() {
        let text = super::render(&sample::results())
            .replace("\"schema_version\": 1", "\"schema_version\": 2");
        let err = ResultsFile::from_json(&text).unwrap_err();
        assert_eq!(
            err,
            ReportError::SchemaVersion {
                found: 2,
                expected: 1
            }
        );
        assert_eq!(
            err.to_string(),
            "results file has schema_version 2, but this rdmabench reads version 1; read it with \
             the rdmabench version that wrote it (see tool.version in the file)"
        );
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
                matches!(ResultsFile::from_json(text), Err(ReportError::Malformed(_))),
                "{text}"
            );
        }
    }
}
