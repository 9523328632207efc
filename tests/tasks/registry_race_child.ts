// Child process of the registry race test: promotes once against a shared store.
import { loadConfig } from "../../config/mod.ts";
import { Registry } from "../../tasks/registry.ts";
import { FsStore, KvStore } from "../../tasks/store/mod.ts";

const [backend, location, configFile] = Deno.args;
const config = loadConfig({ env: "dev", file: configFile });
const store = backend === "kv" ? await KvStore.open(location) : new FsStore(location);
const decision = await new Registry(store, config).promote();
console.log(JSON.stringify({ action: decision.action, winner: decision.winner?.version }));
store.close();
