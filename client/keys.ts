/**
 * The node's key: a private key in an environment variable (default TRUEWASM_PRIVATE_KEY), or an
 * ethers encrypted JSON keystore whose password is in an environment variable (default
 * TRUEWASM_KEYSTORE_PASSWORD).
 */
import { readFileSync } from "node:fs";
import { Wallet, type Provider } from "ethers";

export const KEY_ENV = "TRUEWASM_PRIVATE_KEY";
export const PASSWORD_ENV = "TRUEWASM_KEYSTORE_PASSWORD";

export interface KeyOptions {
  keystore?: string;
  keyEnv?: string;
  passwordEnv?: string;
}

export async function loadWallet(opts: KeyOptions, provider: Provider | null = null): Promise<Wallet> {
  if (opts.keystore) {
    const pwEnv = opts.passwordEnv ?? PASSWORD_ENV;
    const password = process.env[pwEnv];
    if (password === undefined) throw new Error(`--keystore needs the password in $${pwEnv}`);
    const w = await Wallet.fromEncryptedJson(readFileSync(opts.keystore, "utf8"), password);
    return new Wallet(w.privateKey, provider);
  }
  const env = opts.keyEnv ?? KEY_ENV;
  const key = process.env[env];
  if (!key) throw new Error(`no key: set $${env} to a private key, or pass --keystore FILE`);
  try {
    return new Wallet(key.startsWith("0x") ? key : "0x" + key, provider);
  } catch {
    throw new Error(`$${env} is not a valid private key`);
  }
}
