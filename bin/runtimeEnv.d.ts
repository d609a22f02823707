/** Types of runtimeEnv.js (plain JavaScript: the launcher runs under Node before Bun exists). */
export declare const LONG_RUNNING: ReadonlySet<string>
export declare function runtimeEnv(command: string | undefined, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv
