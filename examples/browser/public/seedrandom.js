// seedrandom's ARC4 file has no ES module build: loaded as a module it finds neither `module` nor
// `define`, so it installs itself as Math.seedrandom; this module re-exports that.
import "/vendor/seedrandom/seedrandom.js";

export default Math.seedrandom;
