// Types for the entry point pages import; see index.d.ts.
export * from "./index.js";
