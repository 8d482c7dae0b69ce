// Being written; see docs/architecture.md.
export {};
