import { remoteWorkerSuite } from "../../core/test/RemoteWorkerSuite.js"
import { layerFresh } from "./utils.js"

remoteWorkerSuite("PostgreSQL", () => layerFresh())
