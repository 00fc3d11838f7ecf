import { SqliteJobStore } from "@jobloom/store-sqlite"
import { remoteWorkerSuite } from "../../core/test/RemoteWorkerSuite.js"

remoteWorkerSuite("SQLite", () => SqliteJobStore.layer({ filename: ":memory:" }))
