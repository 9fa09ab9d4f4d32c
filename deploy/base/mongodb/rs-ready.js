// Run by the mongodb-rs-init Job as `mongosh --nodb rs-ready.js`: waits until the mongodb pod's
// init container has initiated the replica set and created leasecron's user (rs-init.js), i.e.
// until leasecron's own credentials log in, see a primary and may read its database. `make up`
// waits for this Job. mongosh globals used: Mongo, print, sleep, quit; process.env for settings.
const memberHost = process.env.MEMBER_HOST || 'mongodb-0.mongodb:27017';
const appDb = process.env.APP_DB || 'leasecron';
const user = process.env.LEASECRON_USERNAME || 'leasecron';
const password = process.env.LEASECRON_PASSWORD;
const deadline = Date.now() + Number(process.env.WAIT_SECONDS || '300') * 1000;

function waitFor(what, attempt) {
  for (;;) {
    try {
      const result = attempt();
      if (result) return result;
      print(`waiting for ${what}`);
    } catch (error) {
      print(`waiting for ${what}: ${error.message}`);
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    sleep(2000);
  }
}

try {
  if (!password) throw new Error('LEASECRON_PASSWORD must be set');
  const uri =
    `mongodb://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${memberHost}/` +
    `?directConnection=true&authSource=${appDb}&serverSelectionTimeoutMS=3000`;
  const hello = waitFor(`${user} to log in to a primary at ${memberHost}`, () => {
    const db = new Mongo(uri).getDB(appDb);
    db.runCommand({ find: 'schedules', limit: 1 });
    const reply = db.runCommand({ hello: 1 });
    return reply.isWritablePrimary ? reply : null;
  });
  print(`replica set ${hello.setName} is ready; ${user} logs in; primary ${hello.primary}`);
} catch (error) {
  print(`rs-ready failed: ${error.message}`);
  quit(1);
}
