/** The shared row factory and base time of the conformance suite. */
export { makeRow, T0 } from "@jobloom/core/testing"
