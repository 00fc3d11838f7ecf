import { MemoryJobStore } from "@jobloom/core"
import { runEngineConformance } from "@jobloom/core/testing"

runEngineConformance("MemoryJobStore", MemoryJobStore.layer)
