//! SQLite storage of annotations, their append-only history, review assignments and
//! the audit log. History and audit rows can only be added: triggers refuse updates
//! and deletes, so a bug or a hand-written query cannot rewrite what happened.

use callscope_api_types as api;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::storage::{Storage, StorageError};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS annotations (
    id TEXT PRIMARY KEY,
    call_id TEXT NOT NULL REFERENCES calls (id),
    version INTEGER NOT NULL,
    author TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    content_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_call ON annotations (call_id);
CREATE TABLE IF NOT EXISTS annotation_versions (
    annotation_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    previous_version INTEGER,
    action TEXT NOT NULL,
    user TEXT NOT NULL,
    at TEXT NOT NULL,
    content_json TEXT,
    PRIMARY KEY (annotation_id, version)
);
CREATE TRIGGER IF NOT EXISTS annotation_versions_append_only_update BEFORE UPDATE ON annotation_versions
BEGIN SELECT RAISE(ABORT, 'annotation history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS annotation_versions_append_only_delete BEFORE DELETE ON annotation_versions
BEGIN SELECT RAISE(ABORT, 'annotation history is append-only'); END;
CREATE TABLE IF NOT EXISTS review_assignments (
    call_id TEXT PRIMARY KEY REFERENCES calls (id),
    assignee TEXT,
    assigned_by TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// Outcome of an edit or deletion that names the version it was based on.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionedWrite {
    Written(Option<api::Annotation>),
    /// The annotation does not exist.
    Missing,
    /// Another user wrote the annotation; only its author may change it.
    NotAuthor { author: String },
    /// The stored version is newer than the base; carries the stored annotation, or
    /// `None` when it was deleted.
    Stale(Option<api::Annotation>),
}

/// A stored call as the review queue ranks it.
#[derive(Debug, Clone)]
pub struct ReviewCandidate {
    pub id: String,
    pub title: String,
    pub flag_codes: Vec<String>,
    pub max_latency_ms: Option<i64>,
}

/// A change to an annotation, appended to its history.
struct Change<'a> {
    id: &'a str,
    version: u32,
    previous: Option<u32>,
    action: &'a str,
    user: &'a str,
    at: &'a str,
    content: Option<&'a api::AnnotationInput>,
}

impl Storage {
    /// Stores a new annotation at version 1 and its history entry, with an audit row.
    pub async fn create_annotation(&self, call_id: String, author: String, input: api::AnnotationInput) -> Result<api::Annotation, StorageError> {
        self.with(move |connection| {
            let id = uuid::Uuid::new_v4().to_string();
            let at = now();
            let transaction = connection.transaction()?;
            transaction.execute(
                "INSERT INTO annotations (id, call_id, version, author, updated_at, content_json) VALUES (?1, ?2, 1, ?3, ?4, ?5)",
                params![id, call_id, author, at, content_json(&input)],
            )?;
            let change = Change { id: &id, version: 1, previous: None, action: "create", user: &author, at: &at, content: Some(&input) };
            append_change(&transaction, &change, &call_id)?;
            transaction.commit()?;
            Ok(api::Annotation { id, call_id, version: 1, author, updated_at: at, input })
        })
        .await
    }

    /// Returns the current annotation, deleted ones included as `None` content.
    pub async fn get_annotation(&self, id: String) -> Result<Option<(api::Annotation, bool)>, StorageError> {
        self.with(move |connection| read_annotation(connection, &id)).await
    }

    /// Replaces an annotation's content when `base_version` is its current version and
    /// `user` its author.
    pub async fn edit_annotation(&self, id: String, user: String, base_version: u32, input: api::AnnotationInput) -> Result<VersionedWrite, StorageError> {
        self.with(move |connection| {
            let transaction = connection.transaction()?;
            let Some((current, deleted)) = read_annotation(&transaction, &id)? else { return Ok(VersionedWrite::Missing) };
            if let Some(refusal) = refusal(&current, deleted, &user, base_version) {
                return Ok(refusal);
            }
            let version = current.version + 1;
            let at = now();
            transaction.execute(
                "UPDATE annotations SET version = ?2, updated_at = ?3, content_json = ?4 WHERE id = ?1",
                params![id, version, at, content_json(&input)],
            )?;
            let change = Change { id: &id, version, previous: Some(current.version), action: "edit", user: &user, at: &at, content: Some(&input) };
            append_change(&transaction, &change, &current.call_id)?;
            transaction.commit()?;
            Ok(VersionedWrite::Written(Some(api::Annotation { version, updated_at: at, input, ..current })))
        })
        .await
    }

    /// Marks an annotation deleted when `base_version` is current and `user` its author;
    /// its history stays.
    pub async fn delete_annotation(&self, id: String, user: String, base_version: u32) -> Result<VersionedWrite, StorageError> {
        self.with(move |connection| {
            let transaction = connection.transaction()?;
            let Some((current, deleted)) = read_annotation(&transaction, &id)? else { return Ok(VersionedWrite::Missing) };
            if let Some(refusal) = refusal(&current, deleted, &user, base_version) {
                return Ok(refusal);
            }
            let version = current.version + 1;
            let at = now();
            transaction.execute(
                "UPDATE annotations SET version = ?2, updated_at = ?3, deleted = 1 WHERE id = ?1",
                params![id, version, at],
            )?;
            let change = Change { id: &id, version, previous: Some(current.version), action: "delete", user: &user, at: &at, content: None };
            append_change(&transaction, &change, &current.call_id)?;
            transaction.commit()?;
            Ok(VersionedWrite::Written(None))
        })
        .await
    }

    /// Returns the current, not deleted annotations of a call, oldest first.
    pub async fn call_annotations(&self, call_id: String) -> Result<Vec<api::Annotation>, StorageError> {
        self.with(move |connection| {
            let mut statement = connection.prepare(
                "SELECT id, call_id, version, author, updated_at, content_json FROM annotations
                 WHERE call_id = ?1 AND deleted = 0 ORDER BY rowid",
            )?;
            let rows = statement.query_map(params![call_id], annotation_from_row)?.collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().collect()
        })
        .await
    }

    /// Returns every current annotation of every call, for export and agreement.
    pub async fn all_annotations(&self) -> Result<Vec<api::Annotation>, StorageError> {
        self.with(move |connection| {
            let mut statement = connection.prepare(
                "SELECT id, call_id, version, author, updated_at, content_json FROM annotations WHERE deleted = 0 ORDER BY call_id, rowid",
            )?;
            let rows = statement.query_map([], annotation_from_row)?.collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().collect()
        })
        .await
    }

    /// Returns an annotation's history, oldest first.
    pub async fn annotation_history(&self, id: String) -> Result<Vec<api::AnnotationVersion>, StorageError> {
        self.with(move |connection| {
            let mut statement = connection.prepare(
                "SELECT annotation_id, version, previous_version, action, user, at, content_json FROM annotation_versions
                 WHERE annotation_id = ?1 ORDER BY version",
            )?;
            let rows = statement
                .query_map(params![id], |row| {
                    let content: Option<String> = row.get(6)?;
                    Ok((
                        api::AnnotationVersion {
                            annotation_id: row.get(0)?,
                            version: row.get(1)?,
                            previous_version: row.get(2)?,
                            action: row.get(3)?,
                            user: row.get(4)?,
                            at: row.get(5)?,
                            content: None,
                        },
                        content,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(mut version, content)| {
                    version.content = content.map(|json| parse_content(&version.annotation_id, &json)).transpose()?;
                    Ok(version)
                })
                .collect()
        })
        .await
    }

    /// Returns every finished call with its analysis flag codes; live calls are not
    /// reviewed until they end.
    pub async fn review_candidates(&self) -> Result<Vec<ReviewCandidate>, StorageError> {
        self.with(move |connection| {
            let mut statement =
                connection.prepare("SELECT id, title, max_latency_ms, analysis_json FROM calls WHERE live = 0 ORDER BY imported_at, id")?;
            let rows = statement
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?, row.get::<_, String>(3)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, title, max_latency_ms, analysis_json)| {
                    let analysis: api::CallAnalysis = serde_json::from_str(&analysis_json)
                        .map_err(|source| StorageError::Corrupt { call_id: id.clone(), source })?;
                    let flag_codes = analysis.flags.into_iter().map(|flag| flag.code).collect();
                    Ok(ReviewCandidate { id, title, flag_codes, max_latency_ms })
                })
                .collect()
        })
        .await
    }

    /// Assigns a call to a reviewer, or clears the assignment with `None`.
    pub async fn assign_review(&self, call_id: String, assignee: Option<String>, by: String) -> Result<(), StorageError> {
        self.with(move |connection| {
            connection.execute(
                "INSERT INTO review_assignments (call_id, assignee, assigned_by, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (call_id) DO UPDATE SET assignee = excluded.assignee, assigned_by = excluded.assigned_by, at = excluded.at",
                params![call_id, assignee, by, now()],
            )?;
            Ok(())
        })
        .await
    }

    /// Returns every assignment as call id to assignee.
    pub async fn review_assignments(&self) -> Result<std::collections::HashMap<String, String>, StorageError> {
        self.with(move |connection| {
            let mut statement = connection.prepare("SELECT call_id, assignee FROM review_assignments WHERE assignee IS NOT NULL")?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// Appends an audit row.
    pub async fn audit(&self, user: Option<String>, action: &'static str, subject: String, detail: String) -> Result<(), StorageError> {
        self.with(move |connection| {
            append_audit(connection, user.as_deref(), action, &subject, &detail)?;
            Ok(())
        })
        .await
    }

    /// Returns the newest audit rows first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<api::AuditEntry>, StorageError> {
        self.with(move |connection| {
            let mut statement =
                connection.prepare("SELECT id, at, user, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT ?1")?;
            let rows = statement
                .query_map(params![limit], |row| {
                    Ok(api::AuditEntry {
                        id: row.get(0)?,
                        at: row.get(1)?,
                        user: row.get(2)?,
                        action: row.get(3)?,
                        subject: row.get(4)?,
                        detail: row.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }
}

fn refusal(current: &api::Annotation, deleted: bool, user: &str, base_version: u32) -> Option<VersionedWrite> {
    if current.author != user {
        return Some(VersionedWrite::NotAuthor { author: current.author.clone() });
    }
    if deleted || current.version != base_version {
        return Some(VersionedWrite::Stale((!deleted).then(|| current.clone())));
    }
    None
}

fn append_change(transaction: &Transaction<'_>, change: &Change<'_>, call_id: &str) -> Result<(), StorageError> {
    transaction.execute(
        "INSERT INTO annotation_versions (annotation_id, version, previous_version, action, user, at, content_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![change.id, change.version, change.previous, change.action, change.user, change.at, change.content.map(content_json)],
    )?;
    let action = match change.action {
        "create" => "annotation.create",
        "edit" => "annotation.edit",
        _ => "annotation.delete",
    };
    let detail = format!("call {call_id}, version {}", change.version);
    append_audit(transaction, Some(change.user), action, change.id, &detail)
}

fn append_audit(connection: &Connection, user: Option<&str>, action: &str, subject: &str, detail: &str) -> Result<(), StorageError> {
    connection.execute(
        "INSERT INTO audit_log (at, user, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now(), user, action, subject, detail],
    )?;
    Ok(())
}

fn read_annotation(connection: &Connection, id: &str) -> Result<Option<(api::Annotation, bool)>, StorageError> {
    let row = connection
        .query_row(
            "SELECT id, call_id, version, author, updated_at, content_json, deleted FROM annotations WHERE id = ?1",
            params![id],
            |row| Ok((annotation_from_row(row)?, row.get::<_, bool>(6)?)),
        )
        .optional()?;
    row.map(|(annotation, deleted)| Ok((annotation?, deleted))).transpose()
}

type AnnotationRow = Result<api::Annotation, StorageError>;

fn annotation_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AnnotationRow> {
    let id: String = row.get(0)?;
    let json: String = row.get(5)?;
    let annotation = parse_content(&id, &json).map(|input| api::Annotation {
        id: id.clone(),
        call_id: row.get(1).unwrap_or_default(),
        version: row.get(2).unwrap_or_default(),
        author: row.get(3).unwrap_or_default(),
        updated_at: row.get(4).unwrap_or_default(),
        input,
    });
    Ok(annotation)
}

fn parse_content(id: &str, json: &str) -> Result<api::AnnotationInput, StorageError> {
    serde_json::from_str(json).map_err(|source| StorageError::Corrupt { call_id: format!("annotation {id}"), source })
}

fn content_json(input: &api::AnnotationInput) -> String {
    serde_json::to_string(input).expect("serialising an annotation")
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formatting the current time")
}
