import * as MemoryJobStore from "../src/MemoryJobStore.js"
import { runStoreConformance } from "../src/testing/index.js"

runStoreConformance("MemoryJobStore", MemoryJobStore.layer)
