PRAGMA user_version = 1;
CREATE TABLE links (entity INTEGER NOT NULL, object TEXT NOT NULL, provider TEXT NOT NULL, namespace TEXT NOT NULL, remote_id TEXT NOT NULL, linked_at TEXT NOT NULL, run_id TEXT, deleted_at TEXT, PRIMARY KEY (object, provider, namespace, remote_id));
CREATE INDEX links_entity ON links (entity);
CREATE TABLE pushes (entity INTEGER NOT NULL, object TEXT NOT NULL, src_provider TEXT NOT NULL, src_namespace TEXT NOT NULL, dst_provider TEXT NOT NULL, dst_namespace TEXT NOT NULL, outcome TEXT NOT NULL, pushed_at TEXT NOT NULL, run_id TEXT, PRIMARY KEY (entity, src_provider, src_namespace, dst_provider, dst_namespace));
CREATE TABLE claims (entity INTEGER NOT NULL, object TEXT NOT NULL, dst_provider TEXT NOT NULL, dst_namespace TEXT NOT NULL, pid INTEGER NOT NULL, run_id TEXT, claimed_at TEXT NOT NULL, PRIMARY KEY (entity, dst_provider, dst_namespace, object));
