// Selects the Redis Cluster (started by cluster-global-setup.ts) for every test server and test client this project makes.
process.env.TEST_REDIS = 'cluster';
