"""The markets' standard payment codes, as pure functions: Pix "copia e cola" (BR Code), the
UPI intent URI and the SGQR PayNow payload. Build one (`pix.build`, `upi.build`,
`paynow.build`), or read any of them (`read`). No I/O, no clock: the flows decide what a code
is for and whether it may be paid."""
