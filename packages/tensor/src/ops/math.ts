// Ops in this file are being written; see docs/architecture.md.
export {};
