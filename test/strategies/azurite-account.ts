/** Azurite's well-known account and key (public and documented: its one account unless configured otherwise). */
export const AZURITE_ACCOUNT = 'devstoreaccount1'
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
/** The container the tests deploy into (created by the global setup, with `$web`). */
export const AZURE_CONTAINER = 'collectfasta-test'
