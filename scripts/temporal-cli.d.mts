export declare const TEMPORAL_CLI_VERSION: string;
export declare const cacheDir: string;
export declare function resolveTemporalCli(opts?: {
  install?: boolean;
  log?: (m: string) => void;
}): Promise<string | undefined>;
