// The entry point pages have always imported; everything lives in index.js.
export * from "./index.js";
