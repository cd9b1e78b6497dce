import { deploy } from "../test/contracts/helpers.js";
import { toyBackend } from "../test/contracts/model.js";
import { unchallenged } from "../bench/game.js";
const env = await deploy({ k: 16, backend: toyBackend });
console.log(JSON.stringify(await unchallenged(env)));
process.exit(0);
