// Selects the Qdrant store (on the strict double) for every test server this project starts.
process.env.TEST_VECTOR_STORE = 'qdrant';
