package sspinet

// SetTestHookSlotWait sets the function called when a handshake starts to
// wait for a listener's slot (nil: none).
func SetTestHookSlotWait(f func()) { testHookSlotWait = f }
