export declare const MOTO_VERSION: string;
export declare function ensureMoto(options?: { quiet?: boolean }): void;
export declare function startMoto(options?: {
  quiet?: boolean;
  /** Run it in its own process group, so a terminal's Ctrl-C reaches only its owner, which stops it last. */
  ownProcessGroup?: boolean;
}): Promise<{ endpoint: string; pid: number; stop: () => Promise<void> }>;
export declare const CFN_LINT_VERSION: string;
/** Path of the pinned cfn-lint in .venv. */
export declare const CFN_LINT: string;
export declare function ensureCfnLint(options?: { quiet?: boolean }): void;
