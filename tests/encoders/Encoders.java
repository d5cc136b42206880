// An MCP-style stdio server that writes the values of its MWENC_* variables
// back in every spelling the common Java libraries produce: Gson's default
// (HTML-safe: \u003c \u003e \u0026 \u003d \u0027) and with HTML escaping off,
// Jackson with ESCAPE_NON_ASCII (upper-case \u00E9), JSON inside a JSON
// string, java.util.Base64 (basic, URL, MIME: 76 columns, CRLF), HexFormat
// and URLEncoder (form encoding). One response per request line with an
// "id"; each spelling also on stderr, as plain text and as a JSON log line.
// Used by tests/encoders.rs; needs gson and jackson-core on the classpath.

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.StringWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

public class Encoders {
    static List<String> values() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : new TreeMap<>(System.getenv()).entrySet()) {
            if (e.getKey().startsWith("MWENC_")) {
                out.add(e.getValue());
            }
        }
        return out;
    }

    static Map<String, String> spellings(String v) {
        byte[] b = v.getBytes(StandardCharsets.UTF_8);
        Map<String, String> m = new LinkedHashMap<>();
        m.put("raw", v);
        m.put("b64", Base64.getEncoder().encodeToString(b));
        m.put("b64url", Base64.getUrlEncoder().encodeToString(b));
        m.put("mime", Base64.getMimeEncoder().encodeToString(b));
        m.put("hex", HexFormat.of().formatHex(b));
        m.put("HEX", HexFormat.of().withUpperCase().formatHex(b));
        m.put("form", URLEncoder.encode(v, StandardCharsets.UTF_8));
        m.put("url", "https://api.example/x?token=" + URLEncoder.encode(v, StandardCharsets.UTF_8) + "&a=1");
        return m;
    }

    static String jackson(List<Map<String, String>> docs) throws Exception {
        JsonFactory f = JsonFactory.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();
        StringWriter w = new StringWriter();
        try (JsonGenerator g = f.createGenerator(w)) {
            g.writeStartArray();
            for (Map<String, String> d : docs) {
                g.writeStartObject();
                for (Map.Entry<String, String> e : d.entrySet()) {
                    g.writeStringField(e.getKey(), e.getValue());
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        return w.toString();
    }

    public static void main(String[] args) throws Exception {
        Gson gson = new Gson();
        Gson plain = new GsonBuilder().disableHtmlEscaping().create();
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(System.err, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            JsonElement msg;
            try {
                msg = JsonParser.parseString(line);
            } catch (RuntimeException e) {
                continue;
            }
            if (!msg.isJsonObject() || !msg.getAsJsonObject().has("id")) {
                continue;
            }
            List<Map<String, String>> docs = new ArrayList<>();
            for (String v : values()) {
                docs.add(spellings(v));
            }
            Map<String, String> wrapped = new LinkedHashMap<>();
            wrapped.put("inner", gson.toJson(docs));
            String[] texts = {gson.toJson(docs), plain.toJson(docs), jackson(docs), gson.toJson(wrapped)};
            List<Map<String, String>> content = new ArrayList<>();
            for (String t : texts) {
                Map<String, String> c = new LinkedHashMap<>();
                c.put("type", "text");
                c.put("text", t);
                content.add(c);
            }
            JsonObject resp = new JsonObject();
            resp.addProperty("jsonrpc", "2.0");
            resp.add("id", msg.getAsJsonObject().get("id"));
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("content", content);
            resp.add("result", gson.toJsonTree(result));
            out.print(gson.toJson(resp) + "\n");
            out.flush();
            for (Map<String, String> d : docs) {
                for (Map.Entry<String, String> e : d.entrySet()) {
                    err.print(e.getKey() + ": " + e.getValue() + "\n");
                }
                Map<String, Object> log = new LinkedHashMap<>();
                log.put("level", "info");
                log.put("doc", d);
                err.print(gson.toJson(log) + "\n");
            }
            err.flush();
        }
    }
}
