/**
 * An in-process Hardhat network (EDR) for the replay tool, the dispute benchmark, the transcript
 * generator and the demo: an ethers provider over `hre.network.connect()` and the network's
 * well-known funded accounts as wallets (so the nodes sign their own transactions, exactly as they
 * do against a JSON-RPC endpoint).
 */
import { BrowserProvider, HDNodeWallet, Mnemonic, Wallet, type Eip1193Provider, type Provider } from "ethers";
import { REPO_ROOT } from "./contracts.js";

/** The mnemonic of Hardhat's default accounts (in-process network and `hardhat node`). */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

/** Private key of Hardhat default account i. */
export function hardhatKey(i: number): string {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_MNEMONIC), `m/44'/60'/0'/0/${i}`).privateKey;
}

export interface InProcessNetwork {
  provider: BrowserProvider;
  /** The raw EIP-1193 provider (evm_* methods). */
  eip1193: Eip1193Provider;
  /** Wallet of Hardhat default account i, connected to the provider. */
  wallet(i: number): Wallet;
  /** Sends a raw JSON-RPC request (e.g. evm_increaseTime). */
  send(method: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Connects to a fresh in-process network, using this repository's Hardhat config whatever the
 * current directory is.
 */
export async function inProcessNetwork(): Promise<InProcessNetwork> {
  const { createHardhatRuntimeEnvironment, importUserConfig } = await import("hardhat/hre");
  const configPath = `${REPO_ROOT}hardhat.config.ts`;
  const userConfig = await importUserConfig(configPath);
  const hre = await createHardhatRuntimeEnvironment(userConfig, { config: configPath }, REPO_ROOT);
  const conn = await hre.network.connect();
  const eip1193 = conn.provider as unknown as Eip1193Provider;
  const provider = new BrowserProvider(eip1193, undefined, { cacheTimeout: -1 });
  return {
    provider,
    eip1193,
    wallet: (i) => new Wallet(hardhatKey(i), provider),
    send: (method, params = []) => eip1193.request({ method, params }),
    close: async () => {
      provider.destroy();
      await conn.close();
    },
  };
}

/** Advances the chain's clock by `seconds` and mines a block (Hardhat networks only). */
export async function increaseTime(provider: Provider & { send(method: string, params: unknown[]): Promise<unknown> }, seconds: number): Promise<void> {
  await provider.send("evm_increaseTime", [seconds]);
  await provider.send("evm_mine", []);
}
