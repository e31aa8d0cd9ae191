package reconcile

// LastTick exposes lastTick to the external tests.
var LastTick = lastTick
