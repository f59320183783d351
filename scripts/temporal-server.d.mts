export declare const TEMPORAL_SERVER_VERSION: string;
export declare const temporalServerDir: string;
export declare function resolveTemporalServer(opts?: {
  install?: boolean;
  log?: (m: string) => void;
}): Promise<{ server: string; sqlTool: string; schemaDir: string } | undefined>;
export declare function productionTier(): boolean;
