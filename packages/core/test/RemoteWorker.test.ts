import { MemoryJobStore } from "@jobloom/core"
import { remoteWorkerSuite } from "./RemoteWorkerSuite.js"

remoteWorkerSuite("memory", () => MemoryJobStore.layer)
