import * as MemoryJobStore from "../src/MemoryJobStore.js"
import { runScheduleConformance } from "../src/testing/index.js"

runScheduleConformance("MemoryJobStore schedules", MemoryJobStore.layer)
