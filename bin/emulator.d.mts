export declare const MOTO_VERSION: string;
export declare function ensureMoto(options?: { quiet?: boolean }): void;
export declare function startMoto(options?: { quiet?: boolean }): Promise<{ endpoint: string; pid: number; stop: () => Promise<void> }>;
