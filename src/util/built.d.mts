// Types of built.mjs (plain JavaScript, so entries load it before tsx is registered).

/** The repository (package) root. */
export const ROOT: string;
/** The TypeScript sources, ROOT/src. */
export const SRC: string;
/** The transpiled build, ROOT/dist. */
export const DIST: string;
/** The build's stamp file name in dist/. */
export const STAMP: string;
/** SHA-256 (hex) over every file under `dir` (default SRC): sorted relative paths and contents. */
export function sourceHash(dir?: string): string;
/** The build's stamp in `dist`, or undefined when there is none. */
export function readStamp(dist?: string): { sources: string; [k: string]: unknown } | undefined;
/** Whether dist/ was built from the sources as they are now (checked once per thread). */
export function distIsCurrent(): boolean;
/** Where a module named by its source URL runs from: dist/…/x.js (tsx false) or the source (tsx true). */
export function resolveModule(url: URL | string): { file: string; tsx: boolean };
/** Imports a module named by its source URL from where resolveModule says, registering tsx when needed. */
export function importModule(url: URL | string): Promise<Record<string, unknown>>;
/** Node arguments that run the module named by its source URL as a process's entry. */
export function nodeArgs(url: URL | string): string[];
