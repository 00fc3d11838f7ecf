-- index jobloom_callbacks_due
CREATE INDEX "jobloom_callbacks_due" ON "jobloom_callbacks" (due_at, id);

-- index jobloom_callbacks_job
CREATE INDEX "jobloom_callbacks_job" ON "jobloom_callbacks" (job_id);

-- index jobloom_dependencies_on
CREATE INDEX "jobloom_dependencies_on" ON "jobloom_dependencies" (depends_on, done);

-- index jobloom_items_order
CREATE INDEX "jobloom_items_order" ON "jobloom_items" (job_id, position, key, status);

-- index jobloom_jobs_batch
CREATE INDEX "jobloom_jobs_batch" ON "jobloom_jobs" (batch_id) WHERE batch_id IS NOT NULL;

-- index jobloom_jobs_created
CREATE INDEX "jobloom_jobs_created" ON "jobloom_jobs" (created_at, id);

-- index jobloom_jobs_deadline
CREATE INDEX "jobloom_jobs_deadline" ON "jobloom_jobs" (deadline)
      WHERE deadline IS NOT NULL AND status IN ('QUEUED', 'RUNNING', 'PAUSING', 'PAUSED');

-- index jobloom_jobs_due
CREATE INDEX "jobloom_jobs_due" ON "jobloom_jobs" (queue, priority DESC, run_at, id)
      WHERE status = 'QUEUED' AND waiting_on = 0;

-- index jobloom_jobs_finished
CREATE INDEX "jobloom_jobs_finished" ON "jobloom_jobs" (finished_at)
      WHERE finished_at IS NOT NULL;

-- index jobloom_jobs_finished_order
CREATE INDEX "jobloom_jobs_finished_order" ON "jobloom_jobs" (coalesce(finished_at, -1), id);

-- index jobloom_jobs_idempotency
CREATE UNIQUE INDEX "jobloom_jobs_idempotency" ON "jobloom_jobs" (idempotency_key, ifnull(owner, x''))
      WHERE idempotency_key IS NOT NULL AND status IN ('CREATED', 'QUEUED', 'RUNNING', 'PAUSING', 'PAUSED', 'CANCELLING');

-- index jobloom_jobs_number
CREATE UNIQUE INDEX "jobloom_jobs_number" ON "jobloom_jobs" (number);

-- index jobloom_jobs_owner
CREATE INDEX "jobloom_jobs_owner" ON "jobloom_jobs" (owner, created_at, id, type, status)
      WHERE owner IS NOT NULL;

-- index jobloom_jobs_schedule_tick
CREATE UNIQUE INDEX "jobloom_jobs_schedule_tick" ON "jobloom_jobs" (schedule_key, schedule_tick)
      WHERE schedule_key IS NOT NULL;

-- index jobloom_jobs_status
CREATE INDEX "jobloom_jobs_status" ON "jobloom_jobs" (status, created_at, id, type);

-- index jobloom_jobs_type
CREATE INDEX "jobloom_jobs_type" ON "jobloom_jobs" (type, created_at, id);

-- index jobloom_logs_job
CREATE INDEX "jobloom_logs_job" ON "jobloom_logs" (job_id, id);

-- index jobloom_results_job
CREATE INDEX "jobloom_results_job" ON "jobloom_results" (job_id);

-- index jobloom_schedules_due
CREATE INDEX "jobloom_schedules_due" ON "jobloom_schedules" (next_run_at)
      WHERE paused = 0;

-- table jobloom_callbacks
CREATE TABLE "jobloom_callbacks" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id TEXT NOT NULL,
      url TEXT NOT NULL,
      status TEXT NOT NULL,
      terminal_reason TEXT,
      result_id TEXT,
      finished_at INTEGER,
      attempts INTEGER NOT NULL DEFAULT 0,
      due_at INTEGER NOT NULL
    );

-- table jobloom_counters
CREATE TABLE "jobloom_counters" (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;

-- table jobloom_counts
CREATE TABLE "jobloom_counts" (
        type TEXT NOT NULL,
        queue TEXT NOT NULL,
        status TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (type, queue, status)
      ) WITHOUT ROWID;

-- table jobloom_dependencies
CREATE TABLE "jobloom_dependencies" (
      job_id TEXT NOT NULL,
      depends_on TEXT NOT NULL,
      done INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (job_id, depends_on)
    ) WITHOUT ROWID;

-- table jobloom_dependency_signals
CREATE TABLE "jobloom_dependency_signals" (
      id INTEGER PRIMARY KEY,
      job_id TEXT NOT NULL,
      queue TEXT NOT NULL,
      status TEXT NOT NULL
    );

-- table jobloom_items
CREATE TABLE "jobloom_items" (
      job_id TEXT NOT NULL,
      key TEXT NOT NULL,
      position INTEGER NOT NULL,
      status TEXT NOT NULL,
      input TEXT,
      output TEXT,
      error TEXT,
      started_at INTEGER,
      finished_at INTEGER,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (job_id, key)
    ) WITHOUT ROWID;

-- table jobloom_jobs
CREATE TABLE "jobloom_jobs" (
      id TEXT PRIMARY KEY NOT NULL,
      type TEXT NOT NULL,
      name TEXT NOT NULL,
      queue TEXT NOT NULL,
      owner TEXT,
      idempotency_key TEXT,
      status TEXT NOT NULL,
      terminal_reason TEXT,
      priority INTEGER NOT NULL,
      params TEXT NOT NULL,
      metadata TEXT NOT NULL,
      tags TEXT NOT NULL,
      batch_id TEXT,
      callback_url TEXT,
      attempt INTEGER NOT NULL,
      max_attempts INTEGER NOT NULL,
      timeout_ms INTEGER,
      deadline INTEGER,
      run_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      queued_at INTEGER,
      started_at INTEGER,
      finished_at INTEGER,
      progress TEXT NOT NULL,
      last_error TEXT,
      result_id TEXT,
      lease_owner TEXT,
      lease_expires_at INTEGER,
      -- the claim that holds the lease: every worker write is guarded by it (see the port's ClaimOptions.token)
      lease_token TEXT,
      number INTEGER NOT NULL
    , trace_context TEXT, schedule_key TEXT, schedule_tick INTEGER, depends_on TEXT, dependency_policy TEXT, waiting_on INTEGER NOT NULL DEFAULT 0, checkpoint TEXT);

-- table jobloom_logs
CREATE TABLE "jobloom_logs" (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      job_id TEXT NOT NULL,
      at INTEGER NOT NULL,
      level TEXT NOT NULL,
      message TEXT NOT NULL
    );

-- table jobloom_migrations
CREATE TABLE "jobloom_migrations" (
  migration_id integer PRIMARY KEY NOT NULL,
  created_at datetime NOT NULL DEFAULT current_timestamp,
  name VARCHAR(255) NOT NULL
);

-- table jobloom_results
CREATE TABLE "jobloom_results" (
      id TEXT PRIMARY KEY NOT NULL,
      job_id TEXT NOT NULL,
      value TEXT NOT NULL,
      created_at INTEGER NOT NULL
    ) WITHOUT ROWID;

-- table jobloom_schedules
CREATE TABLE "jobloom_schedules" (
      key TEXT PRIMARY KEY NOT NULL,
      cron TEXT,
      time_zone TEXT,
      every_ms INTEGER,
      backfill INTEGER NOT NULL,
      template TEXT NOT NULL,
      source TEXT NOT NULL,
      paused INTEGER NOT NULL,
      next_run_at INTEGER NOT NULL,
      last_run_at INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;

-- trigger jobloom_count_delete
CREATE TRIGGER "jobloom_count_delete" AFTER DELETE ON "jobloom_jobs" BEGIN
      UPDATE "jobloom_counts" SET n = n - 1 WHERE type = old.type AND queue = old.queue AND status = old.status;
    END;

-- trigger jobloom_count_insert
CREATE TRIGGER "jobloom_count_insert" AFTER INSERT ON "jobloom_jobs" BEGIN
      INSERT INTO "jobloom_counts" (type, queue, status, n) VALUES (new.type, new.queue, new.status, 1)
        ON CONFLICT (type, queue, status) DO UPDATE SET n = n + 1;
    END;

-- trigger jobloom_count_update
CREATE TRIGGER "jobloom_count_update" AFTER UPDATE OF type, queue, status ON "jobloom_jobs"
      WHEN old.status IS NOT new.status OR old.type IS NOT new.type OR old.queue IS NOT new.queue BEGIN
      UPDATE "jobloom_counts" SET n = n - 1 WHERE type = old.type AND queue = old.queue AND status = old.status;
      INSERT INTO "jobloom_counts" (type, queue, status, n) VALUES (new.type, new.queue, new.status, 1)
        ON CONFLICT (type, queue, status) DO UPDATE SET n = n + 1;
    END;

-- trigger jobloom_jobs_dependency_delete
CREATE TRIGGER "jobloom_jobs_dependency_delete" AFTER DELETE ON "jobloom_jobs"
      BEGIN
        
    UPDATE "jobloom_jobs" SET
      waiting_on = max(waiting_on - 1, 0),
      status = CASE WHEN ((CASE WHEN OLD.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT') THEN OLD.status ELSE 'FAILED' END) <> 'SUCCEEDED' AND ifnull(dependency_policy, 'fail') = 'fail' AND status IN ('CREATED', 'QUEUED', 'PAUSED')) THEN 'FAILED' ELSE status END,
      terminal_reason = CASE WHEN ((CASE WHEN OLD.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT') THEN OLD.status ELSE 'FAILED' END) <> 'SUCCEEDED' AND ifnull(dependency_policy, 'fail') = 'fail' AND status IN ('CREATED', 'QUEUED', 'PAUSED')) THEN 'dependency_failed' ELSE terminal_reason END,
      last_error = CASE WHEN ((CASE WHEN OLD.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT') THEN OLD.status ELSE 'FAILED' END) <> 'SUCCEEDED' AND ifnull(dependency_policy, 'fail') = 'fail' AND status IN ('CREATED', 'QUEUED', 'PAUSED')) THEN json_object(
        'message', 'dependency ' || OLD.id || ' ended ' || (CASE WHEN OLD.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT') THEN OLD.status ELSE 'FAILED' END), 'tag', 'DependencyFailed', 'at', strftime('%Y-%m-%dT%H:%M:%S', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) / 1000, 'unixepoch') || '.' || printf('%03d', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) % 1000) || 'Z'
      ) ELSE last_error END,
      finished_at = CASE WHEN ((CASE WHEN OLD.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT') THEN OLD.status ELSE 'FAILED' END) <> 'SUCCEEDED' AND ifnull(dependency_policy, 'fail') = 'fail' AND status IN ('CREATED', 'QUEUED', 'PAUSED')) THEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) ELSE finished_at END,
      updated_at = CASE WHEN status IN ('CREATED', 'QUEUED', 'PAUSED') THEN CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) ELSE updated_at END
    WHERE OLD.status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT') AND id IN (SELECT job_id FROM "jobloom_dependencies" WHERE depends_on = OLD.id AND done = 0);
    UPDATE "jobloom_dependencies" SET done = 1 WHERE depends_on = OLD.id AND done = 0;
        DELETE FROM "jobloom_dependencies" WHERE job_id = OLD.id;
        DELETE FROM "jobloom_dependencies" WHERE depends_on = OLD.id;
      END;

-- trigger jobloom_jobs_dependency_end
CREATE TRIGGER "jobloom_jobs_dependency_end" AFTER UPDATE OF status ON "jobloom_jobs"
      WHEN NEW.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT') AND OLD.status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')
        AND EXISTS (SELECT 1 FROM "jobloom_dependencies" WHERE depends_on = NEW.id AND done = 0)
      BEGIN 
    UPDATE "jobloom_jobs" SET
      waiting_on = max(waiting_on - 1, 0),
      status = CASE WHEN (NEW.status <> 'SUCCEEDED' AND ifnull(dependency_policy, 'fail') = 'fail' AND status IN ('CREATED', 'QUEUED', 'PAUSED')) THEN 'FAILED' ELSE status END,
      terminal_reason = CASE WHEN (NEW.status <> 'SUCCEEDED' AND ifnull(dependency_policy, 'fail') = 'fail' AND status IN ('CREATED', 'QUEUED', 'PAUSED')) THEN 'dependency_failed' ELSE terminal_reason END,
      last_error = CASE WHEN (NEW.status <> 'SUCCEEDED' AND ifnull(dependency_policy, 'fail') = 'fail' AND status IN ('CREATED', 'QUEUED', 'PAUSED')) THEN json_object(
        'message', 'dependency ' || NEW.id || ' ended ' || NEW.status, 'tag', 'DependencyFailed', 'at', strftime('%Y-%m-%dT%H:%M:%S', NEW.updated_at / 1000, 'unixepoch') || '.' || printf('%03d', NEW.updated_at % 1000) || 'Z'
      ) ELSE last_error END,
      finished_at = CASE WHEN (NEW.status <> 'SUCCEEDED' AND ifnull(dependency_policy, 'fail') = 'fail' AND status IN ('CREATED', 'QUEUED', 'PAUSED')) THEN NEW.updated_at ELSE finished_at END,
      updated_at = CASE WHEN status IN ('CREATED', 'QUEUED', 'PAUSED') THEN NEW.updated_at ELSE updated_at END
    WHERE 1 = 1 AND id IN (SELECT job_id FROM "jobloom_dependencies" WHERE depends_on = NEW.id AND done = 0);
    UPDATE "jobloom_dependencies" SET done = 1 WHERE depends_on = NEW.id AND done = 0; END;

-- trigger jobloom_jobs_dependency_failed
CREATE TRIGGER "jobloom_jobs_dependency_failed" AFTER UPDATE OF status ON "jobloom_jobs"
      WHEN NEW.terminal_reason = 'dependency_failed' AND NEW.status = 'FAILED' AND OLD.status NOT IN ('SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT')
      BEGIN
        INSERT INTO "jobloom_callbacks" (job_id, url, status, terminal_reason, result_id, finished_at, attempts, due_at)
          SELECT NEW.id, NEW.callback_url, NEW.status, NEW.terminal_reason, NEW.result_id, NEW.finished_at, 0,
            NEW.updated_at
          WHERE NEW.callback_url IS NOT NULL;
        INSERT INTO "jobloom_dependency_signals" (job_id, queue, status) VALUES (NEW.id, NEW.queue, 'FAILED');
      END;

-- trigger jobloom_jobs_dependency_released
CREATE TRIGGER "jobloom_jobs_dependency_released" AFTER UPDATE OF waiting_on ON "jobloom_jobs"
      WHEN NEW.waiting_on = 0 AND OLD.waiting_on > 0 AND NEW.status = 'QUEUED'
      BEGIN
        INSERT INTO "jobloom_dependency_signals" (job_id, queue, status) VALUES (NEW.id, NEW.queue, 'QUEUED');
      END;
