import Testing
@testable import PostgresClient

@Suite struct RedactionTests {
    let none: [String: String] = [:]

    @Test(arguments: [
        ("postgresql://u:S3cret@127.0.0.1:5432/db", "postgresql://u:***@127.0.0.1:5432/db"),
        ("postgres://u:S3cret@h/db?sslmode=disable", "postgres://u:***@h/db?sslmode=disable"),
        ("error at postgresql://u:S3c:ret@h/db: refused", "error at postgresql://u:***@h/db: refused"),
        ("postgresql://u@127.0.0.1:1/db?password=S3cret", "postgresql://u@127.0.0.1:1/db?password=***"),
        ("postgresql://u@h/db?sslmode=disable&password=S3cret&connect_timeout=2", "postgresql://u@h/db?sslmode=disable&password=***&connect_timeout=2"),
        ("host=127.0.0.1 port=1 user=u password=S3cret dbname=db", "host=127.0.0.1 port=1 user=u password=*** dbname=db"),
        ("host=h password = 'S3cret with \\' quote' dbname=db", "host=h password = *** dbname=db"),
        ("host=h PASSWORD=S3cret", "host=h PASSWORD=***"),
        ("PGPASSWORD=S3cret psql", "PGPASSWORD=*** psql"),
        ("sslpassword=S3cret", "sslpassword=***"),
        ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
        ("postgresql://h:5432/db?x=@", "postgresql://h:5432/db?x=@"),
    ])
    func everyPasswordForm(_ input: String, _ want: String) {
        #expect(redactSecrets(input, environment: none) == want)
    }

    @Test func environmentPassword() {
        let env = ["PGPASSWORD": "EnvS3cret"]
        #expect(redactSecrets("authentication failed (tried EnvS3cret)", environment: env) == "authentication failed (tried ***)")
        // Too short to redact safely everywhere: left alone.
        #expect(redactSecrets("a b c", environment: ["PGPASSWORD": "a"]) == "a b c")
    }

    @Test func connectionErrorsCarryNoPassword() async {
        for url in ["postgresql://u:S3cret@127.0.0.1:1/db", "postgresql://u@127.0.0.1:1/db?password=S3cret",
                    "host=127.0.0.1 port=1 user=u password=S3cret dbname=db"] {
            do {
                _ = try await PostgresConnection.connect(url: url)
                Issue.record("connected to port 1?")
            } catch {
                #expect("\(error)".contains("could not connect"))
                #expect(!"\(error)".contains("S3cret"), "\(error)")
            }
        }
        #expect(PostgresError(kind: .queryFailed, message: "bad postgresql://a:S3cret@h/x").message == "bad postgresql://a:***@h/x")
    }
}
