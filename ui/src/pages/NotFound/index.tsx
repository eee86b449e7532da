export function NotFound() {
  return (
    <section class="narrow">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <p>
        <a href="/jobs">Go to the jobs list</a>
      </p>
    </section>
  );
}
export default NotFound;
