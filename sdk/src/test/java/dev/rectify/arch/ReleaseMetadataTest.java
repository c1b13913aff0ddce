package dev.rectify.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPath;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

/**
 * The project's public address is defined once, by the root pom's {@code rectify.github.owner} and
 * {@code rectify.github.repo}: the published modules inherit it unchanged, and the BOM (which has no parent) repeats
 * the same values.
 */
class ReleaseMetadataTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    private static Document read(String pom) throws Exception {
        return DocumentBuilderFactory.newInstance()
                .newDocumentBuilder()
                .parse(ROOT.resolve(pom).toFile());
    }

    private static String at(Document d, String path) throws Exception {
        XPath x = XPathFactory.newInstance().newXPath();
        return x.evaluate(path, d).strip();
    }

    @Test
    void theBomRepeatsTheRootPomsAddressAndTheModulesInheritIt() throws Exception {
        Document root = read("pom.xml");
        String owner = at(root, "/project/properties/rectify.github.owner");
        String repo = at(root, "/project/properties/rectify.github.repo");
        assertTrue(!owner.isEmpty() && !repo.isEmpty(), "rectify.github.owner and rectify.github.repo in pom.xml");
        String url = "https://github.com/" + owner + "/" + repo;

        Document bom = read("bom/pom.xml");
        assertEquals(url, at(bom, "/project/url"), "bom/pom.xml url");
        assertEquals(url, at(bom, "/project/scm/url"), "bom/pom.xml scm url");
        assertEquals("scm:git:" + url + ".git", at(bom, "/project/scm/connection"), "bom/pom.xml scm connection");
        assertEquals(
                "scm:git:git@github.com:" + owner + "/" + repo + ".git", at(bom, "/project/scm/developerConnection"));
        assertEquals(
                "https://github.com/" + owner,
                at(bom, "/project/developers/developer/url"),
                "bom/pom.xml developer url");
        assertEquals(at(root, "/project/licenses/license/name"), at(bom, "/project/licenses/license/name"));

        for (String module : List.of("models", "sdk", "cli", "langchain4j")) {
            Document m = read(module + "/pom.xml");
            assertEquals("", at(m, "/project/url"), module + "/pom.xml must inherit url, not set it");
            assertEquals("", at(m, "/project/scm"), module + "/pom.xml must inherit scm, not set it");
            assertTrue(!at(m, "/project/description").isEmpty(), module + "/pom.xml needs a description");
        }
    }
}
