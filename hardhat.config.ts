import { defineConfig } from "hardhat/config";
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import { createRequire } from "node:module";

// Compile with the npm `solc` package (soljson.js) so that no compiler is ever downloaded.
const require = createRequire(import.meta.url);
const solcVersion: string = require("solc/package.json").version;

export default defineConfig({
  plugins: [hardhatEthers],
  solidity: {
    version: solcVersion,
    path: require.resolve("solc/soljson.js"),
    settings: { optimizer: { enabled: true, runs: 1_000_000 }, evmVersion: "prague" },
  },
  paths: { sources: "./contracts" },
});
